/* QUANTIZE int8 -> int8 (ops/requantize_s8.py), TFLite's Requantize:
 * out[i] = saturate(requantize(in[i] - zp_in, mult, shift) + zp_out), the
 * rounding shift breaking ties upward on the first `blocked` values (LCE's
 * interpreter: TFLite's NEON code on whole blocks of 16) and away from zero on
 * the rest (its scalar loop; every value in TFLite's reference kernel). */
#ifndef BNN_REQUANTIZE_S8_H
#define BNN_REQUANTIZE_S8_H

#include "bnn_kernels.h"

void bnn_requantize_tensor_s8(const int8_t *in, int32_t n, int32_t blocked, int32_t mult,
                              int32_t shift, int32_t zp_in, int32_t zp_out, int8_t *out);

#endif
