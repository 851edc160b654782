/* 1-bit dense layer: XOR + popcount. With a and w in {-1,+1}^n packed as bits,
 * sum_i a_i w_i = n - 2 * popcount(a ^ w); padding bits are 0 on both sides. */
#include "bnn_kernels.h"

void bnn_binary_dense_f32(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                          const float *scale, const float *bias, int32_t n_out, int32_t relu,
                          float *out)
{
    const int32_t n_words = BNN_WORDS(n_in);
    int32_t j;
    for (j = 0; j < n_out; j++) {
        const int32_t dot = n_in - 2 * bnn_xor_popcount(in, weights + j * n_words, n_words);
        float v = (float)dot * scale[j];
        v = v + bias[j];
        if (relu && v < 0.0f)
            v = 0.0f;
        out[j] = v;
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
