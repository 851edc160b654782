/* LceQuantize: float -> packed sign bits (bit 1 where x < 0), with the batch
 * norm that precedes it (x*mul + add, two float32 roundings as in TFLite)
 * evaluated on the fly. Compile with -ffp-contract=off so no FMA merges them. */
#include "bnn_kernels.h"

void bnn_quantize_f32(const float *in, int32_t outer, int32_t channels, const float *mul,
                      const float *add, uint32_t *out)
{
    int32_t o, c0, i;
    for (o = 0; o < outer; o++) {
        const float *x = in + o * channels;
        uint32_t *w = out + o * BNN_WORDS(channels);
        /* one word at a time, built in a register */
        for (c0 = 0; c0 < channels; c0 += 32) {
            const int32_t n = channels - c0 < 32 ? channels - c0 : 32;
            uint32_t bits = 0u;
            for (i = 0; i < n; i++) {
                float v = x[c0 + i];
                if (mul)
                    v = v * mul[c0 + i];
                if (add)
                    v = v + add[c0 + i];
                bits |= (uint32_t)(v < 0.0f) << i;
            }
            w[c0 >> 5] = bits;
        }
    }
}
