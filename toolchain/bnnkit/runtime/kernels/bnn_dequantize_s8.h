/* bnn_dequantize_s8.c: TFLite DEQUANTIZE, int8 -> float32, as the x86-64
 * interpreter of LCE 0.16 / TFLite 2.16 computes it (ops/dequantize_s8.py).
 * Whole blocks of 8 values: float32(q) * scale + neg_zp_scale, two float32
 * roundings, neg_zp_scale = float32(-zero_point * double(scale)). The last
 * n % 8 values: float32(q - zero_point) * scale, one rounding. */
#ifndef BNN_DEQUANTIZE_S8_H
#define BNN_DEQUANTIZE_S8_H

#include "bnn_kernels.h"

void bnn_dequantize_s8(const int8_t *in, int32_t n, float scale, float neg_zp_scale,
                       int32_t zero_point, float *out);

#endif
