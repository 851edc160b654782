/* int8 ADD and MUL (see bnn_elementwise_s8.h). Only integer operations: the
 * same bytes on every core. The ADD reproduces TFLite's split into NEON blocks
 * of 16 (run through NEON_2_SSE on x86) and a scalar tail, whose roundings
 * differ (ops/elementwise_s8.py). */
#include "bnn_elementwise_s8.h"
#include "bnn_requant.h"

static int8_t clamp_s8(const bnn_elementwise_s8_params *p, int32_t v)
{
    v = v < p->act_min ? p->act_min : v;
    return (int8_t)(v > p->act_max ? p->act_max : v);
}

/* TFLite's scalar loop: each input rescaled with two roundings */
static int8_t add_tail(const bnn_elementwise_s8_params *p, int32_t a, int32_t b)
{
    /* (a + offset) lies in [-255, 255]: << 20 stays inside int32 */
    const int32_t sa = bnn_requantize_away((a + p->a_offset) * (1 << 20), p->a_mult, p->a_shift);
    const int32_t sb = bnn_requantize_away((b + p->b_offset) * (1 << 20), p->b_mult, p->b_shift);
    return clamp_s8(p, bnn_requantize_away(sa + sb, p->out_mult, p->out_shift) + p->out_offset);
}

/* vshl by a signed count: left, or arithmetic right when negative */
static int32_t shift_signed(int32_t x, int32_t bits)
{
    return bits >= 0 ? x * (1 << bits) : x >> -bits;
}

/* int32 -> int16 keeping the low 16 bits (vmovn), without implementation-defined casts */
static int32_t wrap16(int32_t v)
{
    const int32_t low = (int32_t)((uint32_t)v & 0xFFFFu);
    return low >= 32768 ? low - 65536 : low;
}

/* TFLite's NEON block: the input shift folded into the left shift (one
 * rounding), the result narrowed to int16 before the zero point is added */
static int8_t add_block(const bnn_elementwise_s8_params *p, int32_t a, int32_t b)
{
    const int32_t sa = bnn_requantize_away(shift_signed(a + p->a_offset, 20 + p->a_shift),
                                           p->a_mult, 0);
    const int32_t sb = bnn_requantize_away(shift_signed(b + p->b_offset, 20 + p->b_shift),
                                           p->b_mult, 0);
    int32_t v = wrap16(wrap16(bnn_requantize_away(sa + sb, p->out_mult, p->out_shift))
                       + p->out_offset);
    v = v < -128 ? -128 : v > 127 ? 127 : v;
    return clamp_s8(p, v);
}

static int8_t mul_one(const bnn_elementwise_s8_params *p, int32_t a, int32_t b)
{
    return clamp_s8(p, bnn_requantize_away((a + p->a_offset) * (b + p->b_offset), p->out_mult,
                                  p->out_shift) + p->out_offset);
}

void bnn_add_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out)
{
    const int32_t n = p->dims[0] * p->dims[1] * p->dims[2] * p->dims[3];
    const int32_t blocked = p->add_blocked;
    int32_t i;
    for (i = 0; i < blocked; i++)
        out[i] = add_block(p, a[i], b[i]);
    for (; i < n; i++)
        out[i] = add_tail(p, a[i], b[i]);
}

/* The broadcast walk; the innermost axis is a plain loop. */
void bnn_mul_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out)
{
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < p->dims[0]; i0++)
        for (i1 = 0; i1 < p->dims[1]; i1++)
            for (i2 = 0; i2 < p->dims[2]; i2++) {
                const int8_t *pa = a + i0 * p->a_strides[0] + i1 * p->a_strides[1]
                                   + i2 * p->a_strides[2];
                const int8_t *pb = b + i0 * p->b_strides[0] + i1 * p->b_strides[1]
                                   + i2 * p->b_strides[2];
                for (i3 = 0; i3 < p->dims[3]; i3++)
                    *out++ = mul_one(p, pa[i3 * p->a_strides[3]], pb[i3 * p->b_strides[3]]);
            }
}
