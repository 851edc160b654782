/* bnn_quantize_bits_s8.c: LceQuantize of an int8 tensor: bit 1 (-1) where
 * x < threshold, XOR a per-channel flip bit. LCE's own op has one threshold,
 * the zero point, and no flips (threshold NULL, flip NULL); a dequantize and
 * batch norm folded in by lowering give each channel its own int8 threshold
 * and, where the batch norm's scale is negative, a flip. */
#ifndef BNN_QUANTIZE_BITS_S8_H
#define BNN_QUANTIZE_BITS_S8_H

#include "bnn_kernels.h"

void bnn_quantize_bits_s8(const int8_t *in, int32_t outer, int32_t channels,
                          int32_t zero_point, const int8_t *threshold, const uint32_t *flip,
                          uint32_t *out);

#endif
