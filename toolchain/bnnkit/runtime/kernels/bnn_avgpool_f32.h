/* bnn_avgpool_f32.c: AVERAGE_POOL_2D, float32, as TFLite's optimized kernel
 * computes it (LCE's interpreter).
 *
 * Input (in_h, in_w, channels) and output (out_h, out_w, channels) are NHWC
 * without the batch. For each output position the sum starts at 0.0f and adds
 * the taps that fall inside the input in (ky, kx) order, one float32 rounding
 * each; it is then divided by the number of those taps (SAME padding: padded
 * taps count for nothing, as in TFLite) and clamped by the fused activation:
 *   BNN_POOL_ACT_NONE          [-FLT_MAX, FLT_MAX] (an overflow to inf reads FLT_MAX)
 *   BNN_POOL_ACT_RELU          [0, FLT_MAX]
 *   BNN_POOL_ACT_RELU6         [0, 6]
 *   BNN_POOL_ACT_RELU_N1_TO_1  [-1, 1]
 * as min(max(x, lo), hi) with std::min/max semantics (NaN passes through).
 * A position with no tap inside the input never occurs for the geometries
 * TFLite accepts (pad < filter); it would get 0/0.
 */
#ifndef BNN_AVGPOOL_F32_H
#define BNN_AVGPOOL_F32_H

#include "bnn_kernels.h"

#define BNN_POOL_ACT_NONE 0
#define BNN_POOL_ACT_RELU 1
#define BNN_POOL_ACT_RELU6 2
#define BNN_POOL_ACT_RELU_N1_TO_1 3

typedef struct {
    int32_t in_h, in_w, channels;
    int32_t filter_h, filter_w, stride_h, stride_w;
    int32_t pad_top, pad_left, out_h, out_w;
    int32_t activation; /* BNN_POOL_ACT_* */
} bnn_avgpool_params;

void bnn_avgpool_f32(const bnn_avgpool_params *p, const float *in, float *out);

#endif
