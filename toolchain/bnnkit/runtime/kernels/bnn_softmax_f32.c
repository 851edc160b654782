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

#include "bnn_expf.h"
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
        out[i] = ftz(i < n8 ? eigen_expf(v) : bnn_expf_glibc(v, 1));
    }
    scale = 1.0f / softmax_sum(out, n);
    for (i = 0; i < n; i++)
        out[i] = ftz(out[i] * scale);
}
