/* 1-bit dense layer: XOR + popcount. With a and w in {-1,+1}^n packed as bits,
 * sum_i a_i w_i = n - 2 * popcount(a ^ w); padding bits are 0 on both sides. */
#include <float.h>

#include "bnn_kernels.h"

/* Float output, bit-exact with LCE's float FULLY_CONNECTED on the +-1.0f
 * inputs and +-c_j weights it replaces (bnn_fc_f32.c): every product is +-c_j
 * exactly, so each step is one rounded add of +-c_j in TFLite's order: with
 * n_out >= 4 and n_in >= 4 four lanes (input k in lane k % 4, the last
 * n_in % 4 in lanes 4 - n_in % 4.. 3; the 0 * w steps change nothing, a lane
 * is never -0.0f), (l0 + l1) + (l2 + l3), + bias; otherwise in order from the
 * bias. Then TFLite's clamp. bias may be NULL (no bias). */
void bnn_binary_dense_f32(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                          const float *scale, const float *bias, int32_t n_out, int32_t relu,
                          float *out)
{
    const int32_t n_words = BNN_WORDS(n_in), n4 = n_in & ~3;
    const float lo = relu ? 0.0f : -FLT_MAX;
    int32_t j, k;
    for (j = 0; j < n_out; j++) {
        const uint32_t *w = weights + j * n_words;
        const float c = scale[j], nc = -scale[j];
        float v;
        if (n_out < 4 || n_in < 4) {
            v = bias ? bias[j] : 0.0f;
            for (k = 0; k < n_in; k++)
                v = v + ((((in[k >> 5] ^ w[k >> 5]) >> (k & 31)) & 1u) ? nc : c);
        } else {
            float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (k = 0; k < n4; k += 4) {
                const uint32_t d = (in[k >> 5] ^ w[k >> 5]) >> (k & 31);
                a[0] = a[0] + ((d & 1u) ? nc : c);
                a[1] = a[1] + ((d & 2u) ? nc : c);
                a[2] = a[2] + ((d & 4u) ? nc : c);
                a[3] = a[3] + ((d & 8u) ? nc : c);
            }
            for (; k < n_in; k++) {
                const int32_t lane = k - n_in + 4;
                a[lane] = a[lane] + ((((in[k >> 5] ^ w[k >> 5]) >> (k & 31)) & 1u) ? nc : c);
            }
            v = (a[0] + a[1]) + (a[2] + a[3]);
            if (bias)
                v = v + bias[j];
        }
        v = v < FLT_MAX ? v : FLT_MAX;
        out[j] = v > lo ? v : lo;
    }
}

void bnn_binary_dense_bits(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                           const int32_t *threshold, const uint32_t *flip, int32_t n_out,
                           uint32_t *out)
{
    const int32_t n_words = BNN_WORDS(n_in);
    int32_t j;
    for (j = 0; j < BNN_WORDS(n_out); j++)
        out[j] = 0u;
    for (j = 0; j < n_out; j++) {
        const int32_t pc = bnn_xor_popcount(in, weights + j * n_words, n_words);
        uint32_t bit = pc > threshold[j] ? 1u : 0u;
        if (flip)
            bit ^= (flip[j >> 5] >> (j & 31)) & 1u;
        out[j >> 5] |= bit << (j & 31);
    }
}
