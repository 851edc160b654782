/* Float fully connected layer, bit-exact with LCE 0.16's interpreter on
 * x86-64 (TFLite 2.16 optimized FullyConnected -> cpu_backend_gemm with
 * TFLITE_WITH_RUY). Weights are TFLite's [n_out][n_in]; bias may be NULL.
 *
 * n_out >= 4 and n_in >= 4: TFLite's CustomGemv (NEON code run through
 * NEON_2_SSE, so multiply then add, no FMA). Four partial sums per output,
 * lane l taking inputs l, l+4, l+8, ...; the last n_in % 4 inputs go to the
 * upper lanes of one more step whose lower lanes add 0 * w (TFLite walks the
 * load back to stay inside the row); then (l0 + l1) + (l2 + l3), then + bias
 * (only if there is a bias).
 * Otherwise: ruy's single-column AVX2-FMA kernel: from the bias (or 0), one
 * fused multiply-add per input in order.
 * Then TFLite's clamp, min(v, FLT_MAX) then max(v, lo) as SSE computes them
 * (inf -> +-FLT_MAX, NaN -> FLT_MAX), lo = 0 with ReLU, -FLT_MAX without. */
#include <float.h>
#include <math.h>

#include "bnn_kernels.h"

/* One step of a row's four lanes (lane l takes input i + l): multiply, then add. */
#define LANES4(a, r)                                                                          \
    a##0 = a##0 + r[i] * x0;                                                                  \
    a##1 = a##1 + r[i + 1] * x1;                                                              \
    a##2 = a##2 + r[i + 2] * x2;                                                              \
    a##3 = a##3 + r[i + 3] * x3

static float clamp_out(float v, float lo)
{
    v = v < FLT_MAX ? v : FLT_MAX;
    return v > lo ? v : lo;
}

void bnn_fc_f32(const float *restrict in, int32_t n_in, const float *restrict weights,
                const float *restrict bias, int32_t n_out, int32_t relu, float *restrict out)
{
    const float lo = relu ? 0.0f : -FLT_MAX;
    int32_t i, j;
    if (n_out < 4 || n_in < 4) {
        for (j = 0; j < n_out; j++) {
            const float *restrict row = weights + j * n_in;
            float acc = bias ? bias[j] : 0.0f;
            for (i = 0; i < n_in; i++)
                acc = fmaf(in[i], row[i], acc);
            out[j] = clamp_out(acc, lo);
        }
        return;
    }
    {
        const int32_t n4 = n_in & ~3, back = n4 + 4 - n_in;
        j = 0;
#if !defined(__aarch64__) /* arm64's gcc vectorizes the one-output loop below better */
        if (n4 == n_in) /* four outputs at once: each input loaded once for four rows */
            for (; j + 4 <= n_out; j += 4) {
                const float *restrict r0 = weights + j * n_in, *restrict r1 = r0 + n_in;
                const float *restrict r2 = r1 + n_in, *restrict r3 = r2 + n_in;
                float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, b0 = 0.0f, b1 = 0.0f;
                float b2 = 0.0f, b3 = 0.0f, c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f;
                float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f, d3 = 0.0f;
                int32_t k;
                for (i = 0; i < n4; i += 4) {
                    const float x0 = in[i], x1 = in[i + 1], x2 = in[i + 2], x3 = in[i + 3];
                    LANES4(a, r0);
                    LANES4(b, r1);
                    LANES4(c, r2);
                    LANES4(d, r3);
                }
                {
                    const float sums[4] = {(a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3),
                                           (c0 + c1) + (c2 + c3), (d0 + d1) + (d2 + d3)};
                    for (k = 0; k < 4; k++)
                        out[j + k] = clamp_out(bias ? sums[k] + bias[j + k] : sums[k], lo);
                }
            }
#endif
        for (; j < n_out; j++) {
            const float *restrict row = weights + j * n_in;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, s;
            for (i = 0; i < n4; i += 4) {
                a0 = a0 + row[i] * in[i];
                a1 = a1 + row[i + 1] * in[i + 1];
                a2 = a2 + row[i + 2] * in[i + 2];
                a3 = a3 + row[i + 3] * in[i + 3];
            }
            if (n4 < n_in) {
                /* lanes below `back` multiply the re-read weights by 0 */
                const float *restrict w = row + n_in - 4;
                const float *restrict x = in + n_in - 4;
                a0 = a0 + w[0] * 0.0f;
                a1 = a1 + w[1] * (back > 1 ? 0.0f : x[1]);
                a2 = a2 + w[2] * (back > 2 ? 0.0f : x[2]);
                a3 = a3 + w[3] * x[3];
            }
            s = (a0 + a1) + (a2 + a3);
            if (bias)
                s = s + bias[j];
            out[j] = clamp_out(s, lo);
        }
    }
}
