/* 1-bit dense layer: XOR + popcount. With a and w in {-1,+1}^n packed as bits,
 * sum_i a_i w_i = n - 2 * popcount(a ^ w); padding bits are 0 on both sides. */
#include <float.h>

#include "bnn_popcount.h"

/* sum_i a_i * (+-c) (+ *bias) as LCE's float FULLY_CONNECTED computes it on
 * the +-1.0f inputs and +-c weights it replaces (bnn_fc_f32.c): every product
 * is +-c exactly, so each step is one rounded add of +-c in TFLite's order:
 * with n_out >= 4 and n_in >= 4 four lanes (input k in lane k % 4, the last
 * n_in % 4 in lanes 4 - n_in % 4.. 3; the 0 * w steps change nothing, a lane
 * is never -0.0f), (l0 + l1) + (l2 + l3), + bias; otherwise in order from the
 * bias (fused multiply-adds of exact products: one rounding each). bias may
 * be NULL (no bias). Then TFLite's clamp to [lo, FLT_MAX] (NaN -> FLT_MAX). */
static float lce_binary_row(const uint32_t *in, const uint32_t *w, int32_t n_in, int32_t n_out,
                            float c, const float *bias, float lo)
{
    const float nc = -c;
    int32_t k;
    float v;
    if (n_out < 4 || n_in < 4) {
        v = bias ? *bias : 0.0f;
        for (k = 0; k < n_in; k++)
            v = v + ((((in[k >> 5] ^ w[k >> 5]) >> (k & 31)) & 1u) ? nc : c);
    } else {
        const int32_t n4 = n_in & ~3;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        for (k = 0; k < n4; k += 4) {
            const uint32_t d = (in[k >> 5] ^ w[k >> 5]) >> (k & 31);
            a0 = a0 + ((d & 1u) ? nc : c);
            a1 = a1 + ((d & 2u) ? nc : c);
            a2 = a2 + ((d & 4u) ? nc : c);
            a3 = a3 + ((d & 8u) ? nc : c);
        }
        for (; k < n_in; k++) {
            const float t = (((in[k >> 5] ^ w[k >> 5]) >> (k & 31)) & 1u) ? nc : c;
            switch (k - n_in + 4) { /* the lane of the tail input k */
            case 1: a1 = a1 + t; break;
            case 2: a2 = a2 + t; break;
            default: a3 = a3 + t; break;
            }
        }
        v = (a0 + a1) + (a2 + a3);
        if (bias)
            v = v + *bias;
    }
    v = v < FLT_MAX ? v : FLT_MAX;
    return v > lo ? v : lo;
}

void bnn_binary_dense_f32(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                          const float *scale, const float *bias, int32_t n_out, int32_t relu,
                          float *out)
{
    const int32_t n_words = BNN_WORDS(n_in);
    const float lo = relu ? 0.0f : -FLT_MAX;
    int32_t j;
    for (j = 0; j < n_out; j++)
        out[j] = lce_binary_row(in, weights + j * n_words, n_in, n_out, scale[j],
                                bias ? bias + j : 0, lo);
}

void bnn_binary_dense_bits(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                           const int32_t *threshold, const uint32_t *flip, int32_t n_out,
                           int32_t relu, int32_t n_exact, const int32_t *exact_at,
                           const float *exact_val, uint32_t *out)
{
    const int32_t n_words = BNN_WORDS(n_in);
    const float lo = relu ? 0.0f : -FLT_MAX;
    int32_t j, e = 0;
    for (j = 0; j < BNN_WORDS(n_out); j++)
        out[j] = 0u;
    for (j = 0; j < n_out; j++) {
        const uint32_t *w = weights + j * n_words;
        const int32_t pc = bnn_popcount_xor(in, w, n_words);
        uint32_t bit;
        while (e < n_exact && exact_at[3 * e] < j)
            e++;
        if (e < n_exact && exact_at[3 * e] == j && pc >= exact_at[3 * e + 1]
            && pc <= exact_at[3 * e + 2]) {
            /* LCE's float value: row sum, MUL (rounded, clamped), ADD, sign */
            const float *p = exact_val + 4 * e;
            float v = lce_binary_row(in, w, n_in, n_out, p[0], p + 1, lo) * p[2];
            v = -FLT_MAX > v ? -FLT_MAX : v;
            v = FLT_MAX < v ? FLT_MAX : v;
            v = v + p[3];
            bit = v < 0.0f ? 1u : 0u;
        } else {
            bit = pc > threshold[j] ? 1u : 0u;
            if (flip)
                bit ^= (flip[j >> 5] >> (j & 31)) & 1u;
        }
        out[j >> 5] |= bit << (j & 31);
    }
}
