/* int8 ADD (same shapes) and MUL (NumPy/TFLite broadcasting), TFLite's
 * integer arithmetic exactly (ops/elementwise_s8.py):
 *
 *   ADD, the first add_blocked values (LCE's interpreter: n / 16 * 16, TFLite's
 *   NEON blocks; TFLite's reference kernel: none):
 *        a' = srdhm((a + a_offset) << (20 + a_shift), a_mult), b' likewise,
 *        out = clamp(sat8(wrap16(wrap16(rdbpot(srdhm(a' + b', out_mult), -out_shift))
 *                         + out_offset)))
 *   ADD, the rest (its scalar loop):
 *        a' = rdbpot(srdhm((a + a_offset) << 20, a_mult), -a_shift), b' likewise,
 *        out = clamp(rdbpot(srdhm(a' + b', out_mult), -out_shift) + out_offset)
 *   MUL: out = clamp(rdbpot(srdhm((a + a_offset) * (b + b_offset), out_mult),
 *                    -out_shift) + out_offset)
 *
 * srdhm: gemmlowp's SaturatingRoundingDoublingHighMul; rdbpot: its
 * RoundingDivideByPOT (ties away from zero). Offsets are the negated input
 * zero points and the output zero point; clamp is the fused activation. The
 * output has shape dims[0..3] (outermost first, padded with leading 1s); an
 * operand's element strides are 0 along axes it broadcasts. */
#ifndef BNN_ELEMENTWISE_S8_H
#define BNN_ELEMENTWISE_S8_H

#include "bnn_kernels.h"
#include "bnn_requant.h"

typedef struct {
    int32_t dims[4];
    int32_t a_strides[4];
    int32_t b_strides[4];
    int32_t a_offset, b_offset, out_offset;
    int32_t a_mult, a_shift, b_mult, b_shift; /* ADD only */
    int32_t out_mult, out_shift;
    int32_t act_min, act_max;
    int32_t add_blocked; /* ADD: values computed the NEON block way (LCE's interpreter:
                            n / 16 * 16; TFLite's reference kernel: 0) */
} bnn_elementwise_s8_params;

/* One ADD value, inline so that a kernel that computes an ADD's operand (a
 * convolution with the residual ADD fused) gives the same bytes */
BNN_INLINE int8_t bnn_ew_clamp_s8(const bnn_elementwise_s8_params *p, int32_t v)
{
    v = v < p->act_min ? p->act_min : v;
    return (int8_t)(v > p->act_max ? p->act_max : v);
}

/* TFLite's scalar loop: each input rescaled with two roundings */
BNN_INLINE int8_t bnn_add_s8_tail(const bnn_elementwise_s8_params *p, int32_t a, int32_t b)
{
    /* (a + offset) lies in [-255, 255]: << 20 stays inside int32 */
    const int32_t sa = bnn_requantize_away((a + p->a_offset) * (1 << 20), p->a_mult, p->a_shift);
    const int32_t sb = bnn_requantize_away((b + p->b_offset) * (1 << 20), p->b_mult, p->b_shift);
    return bnn_ew_clamp_s8(p, bnn_requantize_away(sa + sb, p->out_mult, p->out_shift)
                                  + p->out_offset);
}

/* vshl by a signed count: left, or arithmetic right when negative */
BNN_INLINE int32_t bnn_shift_signed(int32_t x, int32_t bits)
{
    return bits >= 0 ? x * (1 << bits) : x >> -bits;
}

/* int32 -> int16 keeping the low 16 bits (vmovn), without implementation-defined casts */
BNN_INLINE int32_t bnn_wrap16(int32_t v)
{
    const int32_t low = (int32_t)((uint32_t)v & 0xFFFFu);
    return low >= 32768 ? low - 65536 : low;
}

/* TFLite's NEON block: the input shift folded into the left shift (one
 * rounding), the result narrowed to int16 before the zero point is added */
BNN_INLINE int8_t bnn_add_s8_block(const bnn_elementwise_s8_params *p, int32_t a, int32_t b)
{
    const int32_t sa = bnn_requantize_away(bnn_shift_signed(a + p->a_offset, 20 + p->a_shift),
                                           p->a_mult, 0);
    const int32_t sb = bnn_requantize_away(bnn_shift_signed(b + p->b_offset, 20 + p->b_shift),
                                           p->b_mult, 0);
    int32_t v = bnn_wrap16(bnn_wrap16(bnn_requantize_away(sa + sb, p->out_mult, p->out_shift))
                           + p->out_offset);
    v = v < -128 ? -128 : v > 127 ? 127 : v;
    return bnn_ew_clamp_s8(p, v);
}

/* Values first .. first + n - 1 of an ADD (the first add_blocked of the whole
 * ADD the block way); a, b and out point at value `first`. out may be a or b. */
BNN_INLINE void bnn_add_s8_span(const bnn_elementwise_s8_params *p, const int8_t *a,
                                const int8_t *b, int32_t first, int32_t n, int8_t *out)
{
    int32_t i = 0;
    for (; i < n && first + i < p->add_blocked; i++)
        out[i] = bnn_add_s8_block(p, a[i], b[i]);
    for (; i < n; i++)
        out[i] = bnn_add_s8_tail(p, a[i], b[i]);
}

void bnn_add_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out);
void bnn_mul_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out);

#endif
