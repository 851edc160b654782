/* bnn_dequantize_s8.c: TFLite DEQUANTIZE, int8 -> float32 (ops/dequantize_s8.py).
 * As the x86-64 interpreter of LCE 0.16 / TFLite 2.16 computes it, the first
 * `blocked` values (whole blocks of 8): float32(q) * scale + neg_zp_scale, two
 * float32 roundings, neg_zp_scale = float32(-zero_point * double(scale)); the
 * rest: float32(q - zero_point) * scale, one rounding (every value in TFLite's
 * reference kernel: blocked = 0). */
#ifndef BNN_DEQUANTIZE_S8_H
#define BNN_DEQUANTIZE_S8_H

#include "bnn_kernels.h"

void bnn_dequantize_s8(const int8_t *in, int32_t n, int32_t blocked, float scale,
                       float neg_zp_scale, int32_t zero_point, float *out);

#endif
