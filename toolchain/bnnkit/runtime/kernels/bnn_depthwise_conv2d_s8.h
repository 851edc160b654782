/* bnn_depthwise_conv2d_s8.c: int8 DEPTHWISE_CONV_2D with per-channel
 * requantization, byte for byte as LCE 0.16's interpreter (TFLite 2.16's
 * optimized per-channel kernel on x86; ops/depthwise_conv2d_s8.py).
 *
 * Input [in_h][in_w][in_c] int8, output [out_h][out_w][out_c] int8 with
 * out_c = in_c * depth_multiplier, output channel o reading input channel
 * o / depth_multiplier. Filter int8 in TFLite's layout [k_h][k_w][out_c].
 * Tap (ky, kx) of output (oy, ox) reads input row oy * stride_h - pad_top +
 * ky * dilation_h and column ox * stride_w - pad_left + kx * dilation_w.
 *
 * bias[o] is TFLite's int32 bias with the input offset folded in,
 * bias[o] - in_zero_point * sum of w[o] over all k_h * k_w taps, so that
 * acc[o] = bias[o] + sum over the taps of x * w[o], a tap outside the input
 * reading in_zero_point: the int32 TFLite sums, bias + sum over the inside
 * taps of (x - in_zero_point) * w. The generator guarantees that no partial
 * sum leaves int32. Then out = clamp(requantize(acc, mult[o], shift[o]) +
 * out_zero_point, act_min, act_max) with bnn_requant.h's roundings: ties of
 * the last rounding toward +inf for o < up_channels (TFLite's vectorised
 * output stage, whole groups of 8 channels), away from zero for the others
 * (its scalar tail: gemmlowp's RoundingDivideByPOT).
 *
 * Nothing outside `in` is read: the taps inside the input are found once per
 * output position; `in` and `out` must not overlap. No scratch, except with
 * padded_rows (3x3, depth multiplier 1, dilation 1): the three input rows an
 * output row reads are in `scratch` with the padding filled with
 * in_zero_point, bnn_dw_padded_row_bytes(p) each, so that every position runs
 * the same unrolled nine taps (the sums are the same: a tap in the padding
 * reads the zero point either way). Each input row is copied there once, in
 * order, before the output row that first reads it: `out` may then be `in`
 * itself (ops/_geometry.py: rows_read_before_written). */
#ifndef BNN_DEPTHWISE_CONV2D_S8_H
#define BNN_DEPTHWISE_CONV2D_S8_H

#include "bnn_kernels.h"

typedef struct {
    int32_t in_h, in_w, in_c, depth_multiplier;
    int32_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left, out_h, out_w;
    int32_t in_zero_point, out_zero_point, act_min, act_max;
    int32_t up_channels; /* channels [0, up_channels) round ties toward +inf */
    int32_t padded_rows; /* 1: 3x3 through zero-point padded rows in scratch */
    int32_t fast_requant; /* with up_channels 0: every |acc| < 2^30 and every shift < 0,
                             so bnn_requantize_away_small is exact */
} bnn_depthwise_conv2d_s8_params;

/* bytes of one padded row: the (out_w - 1) * stride_w + 3 columns a row of
 * outputs reads, in_c each (scratch holds three) */
#define bnn_dw_padded_row_bytes(p) (((p)->out_w - 1) * (p)->stride_w + 3) * (p)->in_c

void bnn_depthwise_conv2d_s8(const bnn_depthwise_conv2d_s8_params *p, const int8_t *in,
                             const int8_t *weights, const int32_t *bias /* out_c, folded */,
                             const int32_t *mult, const int32_t *shift,
                             uint32_t *scratch /* NULL unless padded_rows */, int8_t *out);

#endif
