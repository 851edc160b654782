/* LceQuantize of int8 values (see bnn_quantize_bits_s8.h). */
#include "bnn_quantize_bits_s8.h"

void bnn_quantize_bits_s8(const int8_t *in, int32_t outer, int32_t channels,
                          int32_t zero_point, const int8_t *threshold, const uint32_t *flip,
                          uint32_t *out)
{
    const int32_t n_words = BNN_WORDS(channels);
    int32_t o, k, i;
    for (o = 0; o < outer; o++) {
        const int8_t *x = in + o * channels;
        uint32_t *w = out + o * n_words;
        for (k = 0; k < n_words; k++) {
            const int32_t c0 = 32 * k;
            const int32_t n = channels - c0 < 32 ? channels - c0 : 32;
            uint32_t bits = 0u;
            /* the last channel first, each shifting the earlier ones up */
            if (threshold) {
                for (i = n - 1; i >= 0; i--) {
                    bits = (bits << 1) | (uint32_t)(x[c0 + i] < threshold[c0 + i]);
                }
            } else {
                for (i = n - 1; i >= 0; i--) {
                    bits = (bits << 1) | (uint32_t)(x[c0 + i] < zero_point);
                }
            }
            w[k] = flip ? bits ^ flip[k] : bits;
        }
    }
}
