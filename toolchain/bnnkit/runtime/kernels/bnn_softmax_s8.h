/* bnn_softmax_s8.c: int8 SOFTMAX as LCE's / TFLite's x86 interpreter computes
 * it (ops/softmax_s8.py): per value, entry = expf(exp_scale * d) for d = max
 * - x, exp_scale = -in_scale * beta (the interpreter's 256-entry table); the
 * float sum of the row's entries in order; p_j = entry_j * (1 / (sum *
 * out_scale)); out_j = round(p_j) (ties away from zero) + zero_point,
 * saturated. The entries come from `table` (table[255 - d]) or, when table is
 * NULL, are computed with glibc's expf without FMA (bnn_expf.h), which
 * lowering checked gives the table's values. Float arithmetic, one rounding
 * per operation (built without contraction). */
#ifndef BNN_SOFTMAX_S8_H
#define BNN_SOFTMAX_S8_H

#include "bnn_kernels.h"

void bnn_softmax_s8(const int8_t *in, int32_t n, const float *table, float exp_scale,
                    float out_scale, int32_t zero_point, int8_t *out);

#endif
