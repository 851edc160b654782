/* LceQuantize: float -> packed sign bits (bit 1 where x < 0), with the batch
 * norm that precedes it (x*mul + add, two float32 roundings as in TFLite)
 * evaluated on the fly. Compile with -ffp-contract=off so no FMA merges them. */
#include "bnn_kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(BNN_NO_NEON)
#include <arm_neon.h>
#define QUANTIZE_NEON 1

/* lanes all ones where x*m + a < 0 (m, a may be NULL): the scalar operations
 * four at a time, so the same bits (NaN and -0.0 not negative) */
BNN_INLINE uint16x8_t negative8(const float *x, const float *m, const float *a)
{
    float32x4_t lo = vld1q_f32(x), hi = vld1q_f32(x + 4);
    if (m) {
        lo = vmulq_f32(lo, vld1q_f32(m));
        hi = vmulq_f32(hi, vld1q_f32(m + 4));
    }
    if (a) {
        lo = vaddq_f32(lo, vld1q_f32(a));
        hi = vaddq_f32(hi, vld1q_f32(a + 4));
    }
    return vuzp1q_u16(vreinterpretq_u16_u32(vcltzq_f32(lo)), vreinterpretq_u16_u32(vcltzq_f32(hi)));
}

/* the sign word of 32 values: the lane masks narrowed to bytes, each byte
 * given its bit, then three pairwise adds sum eight bytes into each of the
 * word's four bytes */
BNN_INLINE uint32_t sign_word_neon(const float *x, const float *m, const float *a)
{
    static const uint8_t bit_of_lane[16] = {1, 2, 4, 8, 16, 32, 64, 128,
                                            1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bit = vld1q_u8(bit_of_lane);
    const uint8x16_t lo = vuzp1q_u8(vreinterpretq_u8_u16(negative8(x, m, a)),
                                    vreinterpretq_u8_u16(negative8(x + 8, m ? m + 8 : m,
                                                                   a ? a + 8 : a)));
    const uint8x16_t hi = vuzp1q_u8(vreinterpretq_u8_u16(negative8(x + 16, m ? m + 16 : m,
                                                                   a ? a + 16 : a)),
                                    vreinterpretq_u8_u16(negative8(x + 24, m ? m + 24 : m,
                                                                   a ? a + 24 : a)));
    uint8x16_t s = vpaddq_u8(vandq_u8(lo, bit), vandq_u8(hi, bit));
    s = vpaddq_u8(s, s);
    s = vpaddq_u8(s, s);
    return vgetq_lane_u32(vreinterpretq_u32_u8(s), 0);
}
#else
#define QUANTIZE_NEON 0
#endif

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
#if QUANTIZE_NEON
            if (n == 32) {
                w[c0 >> 5] = sign_word_neon(xs, mul ? mul + c0 : mul, add ? add + c0 : add);
                continue;
            }
#endif
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
