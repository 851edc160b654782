/* Float elementwise binary ops (MUL, ADD, SUB, DIV, MAXIMUM, MINIMUM) with
 * NumPy/TFLite broadcasting, as LCE's interpreter computes them:
 *
 *   v = a op b            one float32 rounding (max: a > b ? a : b,
 *                         min: a < b ? a : b, a the op's first operand)
 *   v = lo > v ? lo : v   the fused activation as a clamp; -0.0 and NaN
 *   v = hi < v ? hi : v   pass through unchanged
 *
 * with (lo, hi) = BNN_EW_ACT_NONE: (-FLT_MAX, FLT_MAX) (an overflow gives
 * FLT_MAX, not inf), RELU: (0, FLT_MAX), RELU_N1_TO_1: (-1, 1), RELU6: (0, 6);
 * BNN_EW_ACT_IDENTITY: no clamp (MAXIMUM, MINIMUM).
 * The older bnn_mul_const_f32 / bnn_add_const_f32 / bnn_binary_op_f32
 * (bnn_kernels.h) are kept unchanged: they clamp only at 0 (relu) and not at
 * FLT_MAX. */
#ifndef BNN_ELEMENTWISE_F32_H
#define BNN_ELEMENTWISE_F32_H

#include "bnn_kernels.h"

#define BNN_EW_ADD 0
#define BNN_EW_MUL 1
#define BNN_EW_SUB 2
#define BNN_EW_DIV 3
#define BNN_EW_MAX 4
#define BNN_EW_MIN 5

#define BNN_EW_ACT_IDENTITY 0
#define BNN_EW_ACT_NONE 1
#define BNN_EW_ACT_RELU 2
#define BNN_EW_ACT_RELU_N1_TO_1 3
#define BNN_EW_ACT_RELU6 4

#define BNN_EW_MAX_DIMS 4

/* out[i] = act(a[i] op b[i]), i < n. */
void bnn_elementwise_f32(int32_t op, int32_t act, const float *a, const float *b, int32_t n,
                         float *out);

/* One operand read as c[i % channels] (a scalar when channels == 1):
 * out[i] = act(x[i] op c[..]) if c_first == 0, act(c[..] op x[i]) otherwise. */
void bnn_elementwise_channel_f32(int32_t op, int32_t act, const float *x, int32_t n,
                                 const float *c, int32_t channels, int32_t c_first, float *out);

/* General broadcast over an output of shape dims[0..3] (outermost first,
 * padded with leading 1s): out[i0,i1,i2,i3] = act(a[sum ik*a_strides[k]] op
 * b[sum ik*b_strides[k]]); a stride is 0 along an axis the operand broadcasts. */
typedef struct {
    int32_t op, act;
    int32_t dims[BNN_EW_MAX_DIMS];
    int32_t a_strides[BNN_EW_MAX_DIMS];
    int32_t b_strides[BNN_EW_MAX_DIMS];
} bnn_elementwise_bcast_params;

void bnn_elementwise_bcast_f32(const bnn_elementwise_bcast_params *p, const float *a,
                               const float *b, float *out);

#endif
