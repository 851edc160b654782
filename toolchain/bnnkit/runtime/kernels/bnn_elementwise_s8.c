/* int8 ADD and MUL (see bnn_elementwise_s8.h). Only integer operations: the
 * same bytes on every core. The ADD reproduces TFLite's split into NEON blocks
 * of 16 (run through NEON_2_SSE on x86) and a scalar tail, whose roundings
 * differ (ops/elementwise_s8.py). */
#include "bnn_elementwise_s8.h"

static int8_t mul_one(const bnn_elementwise_s8_params *p, int32_t a, int32_t b)
{
    return bnn_ew_clamp_s8(p, bnn_requantize_away((a + p->a_offset) * (b + p->b_offset),
                                                  p->out_mult, p->out_shift) + p->out_offset);
}

void bnn_add_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out)
{
    bnn_add_s8_span(p, a, b, 0, p->dims[0] * p->dims[1] * p->dims[2] * p->dims[3], out);
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
