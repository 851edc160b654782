/* bnn_pad_f32.c: PAD and PADV2 with a constant value, float32, as copies
 * (bit-exact by construction).
 *
 * Shapes have 4 dimensions (lower ranks are given leading 1s with no padding).
 * The output has out[d] = before[d] + in_shape[d] + after[d] along every d;
 * the input occupies [before[d], before[d] + in_shape[d]) and every other value
 * is the float whose bit pattern is value_bits (so NaN, infinities and -0.0f
 * pass through unchanged). Paddings are >= 0.
 */
#ifndef BNN_PAD_F32_H
#define BNN_PAD_F32_H

#include "bnn_kernels.h"

typedef struct {
    int32_t in_shape[4];
    int32_t before[4];
    int32_t after[4];
    int32_t value_bits; /* the pad value's IEEE-754 bits */
} bnn_pad_params;

void bnn_pad_f32(const bnn_pad_params *p, const float *in, float *out);

#endif
