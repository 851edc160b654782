/* bnn_mean_s8.c: int8 MEAN over any axes of a tensor of up to 4 dimensions,
 * as LCE's interpreter (TFLite 2.16) computes it (ops/mean_s8.py).
 *
 * The shape is given normalized (dimensions of size 1 dropped, neighbouring
 * dimensions both reduced or both kept merged): at most two kept dimensions,
 * outer first, and two reduced ones, each with its stride in the input
 * (unused ones have size 1). Each output, in the order of the kept
 * dimensions, is
 *
 *     clamp(requantize(sum of its values + pre, mult, shift) + post, -128, 127)
 *
 * with TFLite's two-rounding requantization (bnn_requant.h); the rounding
 * shift breaks ties toward +inf for outputs [0, ties_up) and away from zero
 * for the rest. */
#ifndef BNN_MEAN_S8_H
#define BNN_MEAN_S8_H

#include "bnn_kernels.h"

typedef struct {
    int32_t outer[2], outer_stride[2]; /* kept dimensions and their input strides */
    int32_t inner[2], inner_stride[2]; /* reduced dimensions and their input strides */
    int32_t pre;                       /* added to every sum */
    int32_t mult, shift;               /* Q31 multiplier, power-of-two shift */
    int32_t post;                      /* added after requantizing */
    int32_t ties_up;                   /* outputs whose ties round toward +inf */
} bnn_mean_s8_params;

void bnn_mean_s8(const bnn_mean_s8_params *p, const int8_t *in, int8_t *out);

#endif
