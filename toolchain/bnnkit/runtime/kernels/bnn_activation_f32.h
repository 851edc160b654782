/* Float unary activations, as LCE's interpreter (TFLite 2.16 on x86-64, part
 * of it through XNNPACK's AVX2/FMA3 microkernels) computes them:
 *
 *   RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1: v = lo > v ? lo : v; v = hi < v ? hi : v
 *                        (RELU: no upper bound; -0.0 and NaN pass unchanged)
 *   LEAKY_RELU:          signbit(v) ? v * alpha : v
 *   ABS:                 fabsf(v), a NaN unchanged;  NEG: -v
 *   ROUND:               half to even as TFLite's RoundToNearest: f = floorf(v),
 *                        d = v - f, (d < 0.5 || (d == 0.5 && f even)) ? f : f + 1
 *   FLOOR, CEIL:         floorf, ceilf
 *   LOGISTIC:            XNNPACK f32-vsigmoid avx2_rr1_p5_div
 *   TANH:                XNNPACK f32-vtanh avx2_expm1minus_rr1_lut4_p4h3ts_perm_div
 *   HARD_SWISH:          a = fmaf(v, 1/6, 0.5) clamped to [0, 1], times v (XNNPACK fma3)
 *
 * `alpha` is only read by LEAKY_RELU. in and out may be the same buffer. */
#ifndef BNN_ACTIVATION_F32_H
#define BNN_ACTIVATION_F32_H

#include "bnn_kernels.h"

#define BNN_ACT_RELU 0
#define BNN_ACT_RELU6 1
#define BNN_ACT_RELU_N1_TO_1 2
#define BNN_ACT_RELU_0_TO_1 3
#define BNN_ACT_LEAKY_RELU 4
#define BNN_ACT_ABS 5
#define BNN_ACT_NEG 6
#define BNN_ACT_ROUND 7
#define BNN_ACT_FLOOR 8
#define BNN_ACT_CEIL 9
#define BNN_ACT_LOGISTIC 10
#define BNN_ACT_TANH 11
#define BNN_ACT_HARD_SWISH 12

void bnn_activation_f32(int32_t fn, const float *in, int32_t n, float alpha, float *out);

/* The per-element functions, for other kernels and tests. */
float bnn_logistic_f32(float x);
float bnn_tanh_f32(float x);
float bnn_round_f32(float x);

#endif
