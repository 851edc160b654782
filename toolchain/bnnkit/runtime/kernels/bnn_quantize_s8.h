/* bnn_quantize_s8.c: TFLite QUANTIZE, float32 -> int8 (ops/quantize_s8.py).
 * As the x86-64 interpreter of LCE 0.16 / TFLite 2.16 computes it: the first
 * `blocked` values (whole blocks of 8) take the vector path, rint(x *
 * inv_scale) in float32, ties to even, inv_scale = float32(1 / double(scale));
 * the rest the scalar path, round(double(x) / double(scale)), ties away from
 * zero. blocked < 0: TFLite's reference kernel (TFLite Micro's), round(float32
 * (x / float32(scale))), ties away from zero, for every value. Then +
 * zero_point and saturation to -128..127. */
#ifndef BNN_QUANTIZE_S8_H
#define BNN_QUANTIZE_S8_H

#include "bnn_kernels.h"

void bnn_quantize_s8(const float *in, int32_t n, int32_t blocked, float inv_scale,
                     double scale, int32_t zero_point, int8_t *out);

#endif
