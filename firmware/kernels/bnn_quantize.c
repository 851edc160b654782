/* LceQuantize: float -> packed sign bits (bit 1 where x < 0), with the batch
 * norm that precedes it (x*mul + add, two float32 roundings as in TFLite)
 * evaluated on the fly. Compile with -ffp-contract=off so no FMA merges them. */
#include "bnn_kernels.h"

void bnn_quantize_f32(const float *in, int32_t outer, int32_t channels, const float *mul,
                      const float *add, uint32_t *out)
{
    const int32_t n_words = BNN_WORDS(channels);
    int32_t o, c;
    for (o = 0; o < outer; o++) {
        const float *x = in + o * channels;
        uint32_t *w = out + o * n_words;
        for (c = 0; c < n_words; c++)
            w[c] = 0u;
        for (c = 0; c < channels; c++) {
            float v = x[c];
            if (mul)
                v = v * mul[c];
            if (add)
                v = v + add[c];
            if (v < 0.0f)
                w[c >> 5] |= 1u << (c & 31);
        }
    }
}
