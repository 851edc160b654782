/* LceQuantize: float -> packed sign bits (bit 1 where x < 0), with the batch
 * norm that precedes it (x*mul + add, two float32 roundings as in TFLite)
 * evaluated on the fly. Compile with -ffp-contract=off so no FMA merges them. */
#include "bnn_kernels.h"

/* The sign bits of x[0..n) (n <= 32), bit i for x[i]: the last element
 * first, each shifting the earlier ones up, so no per-element shift or
 * branch. */
#define SIGN_WORD(value_of_i)                         \
    do {                                              \
        bits = 0u;                                    \
        for (i = n - 1; i >= 0; i--) {                \
            const float v = value_of_i;               \
            bits = (bits << 1) | (uint32_t)(v < 0.0f); \
        }                                             \
    } while (0)

void bnn_quantize_f32(const float *in, int32_t outer, int32_t channels, const float *mul,
                      const float *add, uint32_t *out)
{
    int32_t o, c0, i;
    for (o = 0; o < outer; o++) {
        const float *x = in + o * channels;
        uint32_t *w = out + o * BNN_WORDS(channels);
        /* one word at a time, built in a register; the batch norm's presence
         * chosen once per word, not per element */
        for (c0 = 0; c0 < channels; c0 += 32) {
            const int32_t n = channels - c0 < 32 ? channels - c0 : 32;
            const float *xs = x + c0;
            uint32_t bits;
            if (mul && add) {
                const float *ms = mul + c0, *as = add + c0;
                SIGN_WORD(xs[i] * ms[i] + as[i]);
            } else if (mul) {
                const float *ms = mul + c0;
                SIGN_WORD(xs[i] * ms[i]);
            } else if (add) {
                const float *as = add + c0;
                SIGN_WORD(xs[i] + as[i]);
            } else {
                SIGN_WORD(xs[i]);
            }
            w[c0 >> 5] = bits;
        }
    }
}
