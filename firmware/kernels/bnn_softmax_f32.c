/* Float softmax, bit-exact with LCE 0.16's interpreter on x86-64 (TFLite 2.16
 * optimized_ops::Softmax, i.e. Eigen with AVX and no FMA, run under
 * flush-to-zero):
 *   v[i]  = (x[i] - max) * beta                       (two roundings)
 *   e[i]  = Eigen pexp_float(v[i]) for i < n - n % 8  (8-wide packets)
 *           glibc expf(v[i]) for the last n % 8       (Eigen's scalar tail)
 *   e[i]  = 0 where it is subnormal                   (FTZ)
 *   sum   = Eigen's packet reduction of e (see softmax_sum)
 *   out[i]= e[i] * (1.0f / sum), 0 where subnormal    (FTZ)
 * Eigen's exp is float-only arithmetic; glibc's expf is reproduced with its
 * double-precision algorithm (FMA variant, as glibc picks on AVX2+FMA hosts),
 * used for at most 7 elements per call. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "bnn_kernels.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* 2^k for -126 <= k <= 127 */
static float pow2i(int32_t k)
{
    return from_bits((uint32_t)(k + 127) << 23);
}

/* floor(a / 4) for negative a too, without relying on >> of negatives */
static int32_t floor_div4(int32_t a)
{
    return a >= 0 ? a / 4 : -((3 - a) / 4);
}

/* Eigen pexp_float, separate multiply and add (no FMA), pldexp as Eigen. */
static float eigen_expf(float x0)
{
    float x = x0 < 0x1.62e45ap+6f ? x0 : 0x1.62e45ap+6f; /* min(x, 88.723) */
    float t, fm, r, r2, pe, po, pl, y, out, c;
    int32_t m, e, b;
    if (x0 < -104.0f) /* Eigen's result there is 0; also keeps (int32_t)t defined */
        return 0.0f;
    t = x * 0x1.715476p+0f + 0.5f;
    m = (int32_t)t;
    if ((float)m > t)
        m--; /* floor */
    fm = (float)m;
    r = fm * -0x1.63p-1f + x;
    r = fm * 0x1.bd0106p-13f + r;
    r2 = r * r;
    pe = r2 * 0x1.6850e4p-10f + 0x1.555b98p-5f;
    po = r2 * 0x1.123bccp-7f + 0x1.55548ep-3f;
    pe = r2 * pe + 0x1.fffff8p-2f;
    pl = r + 1.0f;
    y = r * po + pe;
    y = r2 * y + pl;
    e = m < -255 ? -255 : (m > 255 ? 255 : m);
    b = floor_div4(e);
    c = pow2i(b);
    out = y * c * c * c;
    out = out * pow2i(e - 3 * b);
    return out > x0 ? out : x0; /* pmax(pldexp(y, m), x) */
}

/* glibc expf (sysdeps/ieee754/flt-32/e_expf.c, FMA build): 2^(k/32) from a
 * table times a cubic in double. */
static const uint64_t exp2f_tab[32] = {
    0x3ff0000000000000u, 0x3fefd9b0d3158574u, 0x3fefb5586cf9890fu, 0x3fef9301d0125b51u,
    0x3fef72b83c7d517bu, 0x3fef54873168b9aau, 0x3fef387a6e756238u, 0x3fef1e9df51fdee1u,
    0x3fef06fe0a31b715u, 0x3feef1a7373aa9cbu, 0x3feedea64c123422u, 0x3feece086061892du,
    0x3feebfdad5362a27u, 0x3feeb42b569d4f82u, 0x3feeab07dd485429u, 0x3feea47eb03a5585u,
    0x3feea09e667f3bcdu, 0x3fee9f75e8ec5f74u, 0x3feea11473eb0187u, 0x3feea589994cce13u,
    0x3feeace5422aa0dbu, 0x3feeb737b0cdc5e5u, 0x3feec49182a3f090u, 0x3feed503b23e255du,
    0x3feee89f995ad3adu, 0x3feeff76f2fb5e47u, 0x3fef199bdd85529cu, 0x3fef3720dcef9069u,
    0x3fef5818dcfba487u, 0x3fef7c97337b9b5fu, 0x3fefa4afa2a490dau, 0x3fefd0765b6e4540u,
};

static float glibc_expf(float x)
{
    double xd = (double)x, z, kd, r, r2, y, s;
    uint64_t ki, t;
    if (x != x)
        return x + x;
    if (x < -0x1.9fe368p6f)
        return 0.0f; /* underflow, -inf */
    if (x > 0x1.62e42ep6f)
        return INFINITY;
    z = 0x1.71547652b82fep+5 * xd;
    kd = z + 0x1.8p+52;
    memcpy(&ki, &kd, sizeof ki);
    kd -= 0x1.8p+52;
    r = z - kd;
    t = exp2f_tab[ki % 32];
    t += ki << 47;
    memcpy(&s, &t, sizeof s);
    z = fma(0x1.c6af84b912394p-20, r, 0x1.ebfce50fac4f3p-13);
    r2 = r * r;
    y = fma(0x1.62e42ff0c52d6p-6, r, 1.0);
    y = fma(z, r2, y);
    y = y * s;
    return (float)y;
}

static float ftz(float v)
{
    return (v < FLT_MIN && v > -FLT_MIN) ? 0.0f * v : v;
}

/* Eigen's redux of a contiguous column: 8-wide packets, two accumulators over
 * pairs of packets, one more packet, horizontal sum ((0+4, 1+5, 2+6, 3+7),
 * then (0+2, 1+3), then 0+1), then the scalar tail in order. Under 8
 * elements: in order from e[0]. */
static float softmax_sum(const float *e, int32_t n)
{
    float p0[8], p1[8], s;
    int32_t i, k, n8 = n / 8 * 8, n16 = n / 16 * 16;
    if (n8 == 0) {
        s = e[0];
        for (i = 1; i < n; i++)
            s = s + e[i];
        return s;
    }
    for (k = 0; k < 8; k++)
        p0[k] = e[k];
    if (n8 > 8) {
        for (k = 0; k < 8; k++)
            p1[k] = e[8 + k];
        for (i = 16; i < n16; i += 16)
            for (k = 0; k < 8; k++) {
                p0[k] = p0[k] + e[i + k];
                p1[k] = p1[k] + e[i + 8 + k];
            }
        for (k = 0; k < 8; k++)
            p0[k] = p0[k] + p1[k];
        if (n8 > n16)
            for (k = 0; k < 8; k++)
                p0[k] = p0[k] + e[n16 + k];
    }
    for (k = 0; k < 4; k++)
        p0[k] = p0[k] + p0[k + 4];
    p0[0] = p0[0] + p0[2];
    p0[1] = p0[1] + p0[3];
    s = p0[0] + p0[1];
    for (i = n8; i < n; i++)
        s = s + e[i];
    return s;
}

void bnn_softmax_f32(const float *in, int32_t n, float beta, float *out)
{
    float max = in[0], scale;
    int32_t i, n8 = n / 8 * 8;
    for (i = 1; i < n; i++)
        if (in[i] > max)
            max = in[i];
    for (i = 0; i < n; i++) {
        float v = (in[i] - max) * beta;
        out[i] = ftz(i < n8 ? eigen_expf(v) : glibc_expf(v));
    }
    scale = 1.0f / softmax_sum(out, n);
    for (i = 0; i < n; i++)
        out[i] = ftz(out[i] * scale);
}
