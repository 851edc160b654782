/* Float unary activations: see bnn_activation_f32.h. */
#include <math.h>
#include <string.h>

#include "bnn_activation_f32.h"

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float bnn_round_f32(float x)
{
    float f = floorf(x);
    float d = x - f;
    /* d == 0.5f only for |x| < 2^23, so f fits an int32_t there */
    if (d < 0.5f || (d == 0.5f && ((int32_t)f % 2) == 0))
        return f;
    return f + 1.0f;
}

float bnn_logistic_f32(float x)
{
    const float magic = 0x1.8000FEp23f;
    float z = u2f(f2u(x) | 0x80000000u); /* -|x| */
    float n = fmaf(z, 0x1.715476p0f, magic);
    float s = u2f(f2u(n) << 23);
    float t, p, e, f;
    n = n - magic;
    t = fmaf(n, -0x1.62E430p-1f, z);
    p = fmaf(0x1.0F9F9Cp-7f, t, 0x1.573A1Ap-5f);
    p = fmaf(p, t, 0x1.555A80p-3f);
    p = fmaf(p, t, 0x1.FFFDC6p-2f);
    p = fmaf(p, t, 0x1.FFFFF6p-1f);
    t = t * s;
    e = fmaf(t, p, s);
    f = e / (e + 1.0f);
    if (z < -0x1.5D589Ep+6f)
        f = 0.0f;
    return (f2u(x) >> 31) ? f : 1.0f - f;
}

float bnn_tanh_f32(float x)
{
    static const uint32_t table[4] = {0x3F800000u, 0x3F7837F0u, 0x3F7504F3u, 0x3F7744FDu};
    const float magic = 0x1.8p20f;
    uint32_t zb = f2u(x) | 0x80000000u;
    uint32_t invsign = f2u(x) ^ zb;
    float z = u2f(zb), n, s, t, p, emo;
    uint32_t nb;
    z = -0x1.205968p+3f > z ? -0x1.205968p+3f : z;
    n = fmaf(z, 0x1.715476p+0f, magic);
    nb = f2u(n);
    s = u2f(table[nb & 3u] + (nb << 21));
    n = n - magic;
    t = fmaf(n, -0x1.62E430p-1f, z);
    p = fmaf(0x1.554F9Ap-1f, t, 0x1.557082p+0f);
    p = fmaf(p, t, 0x1.000002p+1f);
    p = fmaf(p, t, 2.0f);
    emo = fmaf(p, t * s, s + -1.0f);
    return u2f(f2u(emo / (emo + 2.0f)) ^ invsign);
}

static void clamp_loop(const float *in, int32_t n, float lo, float hi, int32_t upper, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        float v = in[i];
        v = lo > v ? lo : v;
        if (upper)
            v = hi < v ? hi : v;
        out[i] = v;
    }
}

void bnn_activation_f32(int32_t fn, const float *in, int32_t n, float alpha, float *out)
{
    int32_t i;
    switch (fn) {
    case BNN_ACT_RELU:
        clamp_loop(in, n, 0.0f, 0.0f, 0, out);
        break;
    case BNN_ACT_RELU6:
        clamp_loop(in, n, 0.0f, 6.0f, 1, out);
        break;
    case BNN_ACT_RELU_N1_TO_1:
        clamp_loop(in, n, -1.0f, 1.0f, 1, out);
        break;
    case BNN_ACT_RELU_0_TO_1:
        clamp_loop(in, n, 0.0f, 1.0f, 1, out);
        break;
    case BNN_ACT_LEAKY_RELU:
        for (i = 0; i < n; i++)
            out[i] = signbit(in[i]) ? in[i] * alpha : in[i];
        break;
    case BNN_ACT_ABS:
        for (i = 0; i < n; i++)
            out[i] = in[i] != in[i] ? in[i] : fabsf(in[i]);
        break;
    case BNN_ACT_NEG:
        for (i = 0; i < n; i++)
            out[i] = -in[i];
        break;
    case BNN_ACT_ROUND:
        for (i = 0; i < n; i++)
            out[i] = bnn_round_f32(in[i]);
        break;
    case BNN_ACT_FLOOR:
        for (i = 0; i < n; i++)
            out[i] = floorf(in[i]);
        break;
    case BNN_ACT_CEIL:
        for (i = 0; i < n; i++)
            out[i] = ceilf(in[i]);
        break;
    case BNN_ACT_LOGISTIC:
        for (i = 0; i < n; i++)
            out[i] = bnn_logistic_f32(in[i]);
        break;
    case BNN_ACT_TANH:
        for (i = 0; i < n; i++)
            out[i] = bnn_tanh_f32(in[i]);
        break;
    case BNN_ACT_HARD_SWISH:
        for (i = 0; i < n; i++) {
            float v = in[i];
            float a = fmaf(v, 0x1.555556p-3f, 0.5f);
            a = a > 0.0f ? a : 0.0f;
            a = a < 1.0f ? a : 1.0f;
            out[i] = a * v;
        }
        break;
    default:
        break;
    }
}
