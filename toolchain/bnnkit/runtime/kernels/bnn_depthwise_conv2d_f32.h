/* bnn_depthwise_conv2d_f32.c: DEPTHWISE_CONV_2D, float32, bit-exact with the
 * optimized float depthwise conv that LCE's interpreter runs.
 *
 * Input NHWC without batch, [in_h][in_w][in_c]; output [out_h][out_w][out_c]
 * with out_c = in_c * depth_multiplier, output channel o reading input channel
 * o / depth_multiplier. Filter in TFLite's layout [k_h][k_w][out_c], bias
 * [out_c] (zeros when the model has none).
 *
 * Each output is acc = bias[o], then acc = acc + x * w for every tap inside the
 * image in (ky, kx) order, the product and the sum rounded separately (no fused
 * multiply-add; build with -ffp-contract=off). Taps in the padding are skipped.
 * Finally acc = min(max(acc, lo), hi), where (lo, hi) is (-FLT_MAX, FLT_MAX)
 * for act NONE, (0, FLT_MAX) RELU, (0, 6) RELU6, (-1, 1) RELU_N1_TO_1: an
 * infinity becomes +-FLT_MAX and a NaN stays NaN, as in TFLite.
 *
 * Tap (ky, kx) of output (oy, ox) reads input row oy * stride_h - pad_top +
 * ky * dilation_h and column ox * stride_w - pad_left + kx * dilation_w.
 * `in` and `out` must not overlap.
 */
#ifndef BNN_DEPTHWISE_CONV2D_F32_H
#define BNN_DEPTHWISE_CONV2D_F32_H

#include "bnn_kernels.h"

#define BNN_DW_ACT_NONE 0
#define BNN_DW_ACT_RELU 1
#define BNN_DW_ACT_RELU6 2
#define BNN_DW_ACT_RELU_N1_TO_1 3

typedef struct {
    int32_t in_h, in_w, in_c, depth_multiplier;
    int32_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left, out_h, out_w;
    int32_t act; /* BNN_DW_ACT_* */
} bnn_depthwise_conv2d_params;

void bnn_depthwise_conv2d_f32(const bnn_depthwise_conv2d_params *p, const float *in,
                              const float *weights, const float *bias, float *out);

#endif
