/* Popcount of XORed bit-packed words, inline: the binary kernels count once
 * per output channel, and a call would cost as much as a short row. One
 * implementation per target:
 *  - AArch64: NEON vcnt on 128-bit lanes;
 *  - 32-bit Arm (no popcount instruction): a SWAR count, never a libgcc call;
 *  - elsewhere (host): the compiler builtin. */
#ifndef BNN_POPCOUNT_H
#define BNN_POPCOUNT_H

#include "bnn_kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(BNN_NO_NEON)
#define BNN_POPCOUNT_NEON 1
#include <arm_neon.h>

BNN_INLINE int32_t bnn_popcount_xor(const uint32_t *a, const uint32_t *b, int32_t n_words)
{
    int32_t i = 0;
    uint32_t total = 0;
    uint16x8_t acc = vdupq_n_u16(0);
    for (; i + 4 <= n_words; i += 4) {
        uint8x16_t x = vreinterpretq_u8_u32(veorq_u32(vld1q_u32(a + i), vld1q_u32(b + i)));
        acc = vpadalq_u8(acc, vcntq_u8(x)); /* at most 16 per lane per step: no overflow below 4096 steps */
    }
    total = vaddlvq_u16(acc);
    for (; i < n_words; i++) {
        uint8x8_t x = vreinterpret_u8_u32(vdup_n_u32(a[i] ^ b[i]));
        total += vaddv_u8(vcnt_u8(x)) / 2; /* the word was duplicated into both halves */
    }
    return (int32_t)total;
}

#elif defined(__arm__) || defined(BNN_POPCOUNT_SWAR)
#define BNN_SWAR 1
#define BNN_POPCOUNT_NEON 0
#if defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#endif

/* x (a 32-bit word) -> eight 4-bit counts of its bits, each at most 4 (the
 * first two steps of the SWAR popcount; m1 = 0x55555555, m2 = 0x33333333). */
#define BNN_NIBBLE_COUNTS(x, m1, m2) (x = x - ((x >> 1) & m1), x = (x & m2) + ((x >> 2) & m2))

/* The mask in a register: Arm then folds the shift into the AND
 * ("and r, m, x, lsr #1"), one instruction instead of two. */
BNN_INLINE uint32_t bnn_in_register(uint32_t v)
{
#if defined(__GNUC__)
    __asm__("" : "+r"(v));
#endif
    return v;
}

/* The sum of the four bytes of b (each at most 255). */
BNN_INLINE int32_t bnn_sum_bytes(uint32_t b)
{
#if defined(__ARM_FEATURE_SIMD32)
    return (int32_t)__usada8(b, 0u, 0u);
#else
    b = (b & 0x00FF00FFu) + ((b >> 8) & 0x00FF00FFu);
    return (int32_t)((b + (b >> 16)) & 0xFFFFu);
#endif
}

BNN_INLINE int32_t bnn_popcount_xor(const uint32_t *a, const uint32_t *b, int32_t n_words)
{
    const uint32_t m1 = bnn_in_register(0x55555555u), m2 = bnn_in_register(0x33333333u),
                   m4 = bnn_in_register(0x0F0F0F0Fu);
    int32_t pairs = n_words >> 1, total = 0;
    uint32_t bytes = 0, x0, x1;
    /* two words share the last steps: their nibble counts add up to at most 8,
     * the byte counts to 16; up to 15 pairs (at most 240 per byte) add up
     * before the four bytes are summed */
    while (pairs > 0) {
        int32_t chunk = pairs > 15 ? 15 : pairs;
        pairs -= chunk;
        do {
            x0 = a[0] ^ b[0];
            x1 = a[1] ^ b[1];
            a += 2;
            b += 2;
            BNN_NIBBLE_COUNTS(x0, m1, m2);
            BNN_NIBBLE_COUNTS(x1, m1, m2);
            x0 += x1;
            bytes += (x0 & m4) + ((x0 >> 4) & m4);
        } while (--chunk);
        if (pairs > 0) {
            total += bnn_sum_bytes(bytes);
            bytes = 0;
        }
    }
    if (n_words & 1) { /* at most 8 more per byte: still fits */
        x0 = a[0] ^ b[0];
        BNN_NIBBLE_COUNTS(x0, m1, m2);
        bytes += (x0 & m4) + ((x0 >> 4) & m4);
    }
    return total + bnn_sum_bytes(bytes);
}

#else
#define BNN_POPCOUNT_NEON 0

BNN_INLINE int32_t bnn_popcount_xor(const uint32_t *a, const uint32_t *b, int32_t n_words)
{
    int32_t total = 0;
    int32_t i;
    for (i = 0; i < n_words; i++)
        total += __builtin_popcount(a[i] ^ b[i]);
    return total;
}

#endif
#endif /* BNN_POPCOUNT_H */
