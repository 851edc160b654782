/* Popcount of XORed bit-packed words, one implementation per target:
 *  - AArch64: NEON vcnt on 128-bit lanes;
 *  - Cortex-M (no popcount instruction): a word-wise SWAR count, never a
 *    libgcc call;
 *  - elsewhere (host): the compiler builtin. */
#include "bnn_kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

int32_t bnn_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n_words)
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

static uint32_t popcount_swar(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
}

/* The first two SWAR steps: eight 4-bit counts, each at most 4. */
static uint32_t nibble_counts(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    return (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
}

int32_t bnn_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n_words)
{
    uint32_t total = 0;
    int32_t i = 0;
    /* three words share the last steps: their nibble counts add up to at most
     * 12 (fits 4 bits), the byte counts to 24, the sum of the bytes to 96 */
    for (; i + 3 <= n_words; i += 3) {
        uint32_t s = nibble_counts(a[i] ^ b[i]) + nibble_counts(a[i + 1] ^ b[i + 1]) +
                     nibble_counts(a[i + 2] ^ b[i + 2]);
        s = (s & 0x0F0F0F0Fu) + ((s >> 4) & 0x0F0F0F0Fu);
        total += (s * 0x01010101u) >> 24;
    }
    for (; i < n_words; i++)
        total += popcount_swar(a[i] ^ b[i]);
    return (int32_t)total;
}

#else

int32_t bnn_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n_words)
{
    int32_t total = 0;
    int32_t i;
    for (i = 0; i < n_words; i++)
        total += __builtin_popcount(a[i] ^ b[i]);
    return total;
}

#endif
