/* bnn_mean_f32.c: MEAN over any set of axes of a float32 tensor of up to 4
 * dimensions, as LCE's interpreter (TFLite's float Mean, x86-64 build)
 * computes it.
 *
 * The shape is given normalized: dimensions of size 1 dropped, neighbouring
 * dimensions that are both reduced or both kept merged, then padded with
 * leading kept 1s to 4; reduced[d] says which are reduced. The output holds
 * the kept dimensions in their order; count is the number of values each
 * output averages. Every output is (sum of its values) / (float)count, the
 * sum taken in one of two orders:
 *
 *  - rows == 0: in input order (row-major), starting from -0.0f (so -0.0f
 *    inputs give -0.0f, as the interpreter), one rounding per add;
 *  - rows > 0 (the shape is [rows, count] with the last dimension reduced and
 *    rows > 1): as Eigen's vectorized sum of each row, with 8-float packets
 *    (AVX) aligned as in TFLite's 64-byte aligned arena: the row's elements
 *    before the first 32-byte boundary are set aside; the aligned part is
 *    summed in two 8-lane accumulators, one packet each per 16 values, added
 *    lane-wise, plus one last whole packet; the 8 lanes reduced as
 *    ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)); then the set-aside head and the
 *    tail after the last whole packet added in order. Rows where fewer than 8
 *    values follow the boundary are summed in order from the first value.
 */
#ifndef BNN_MEAN_F32_H
#define BNN_MEAN_F32_H

#include "bnn_kernels.h"

typedef struct {
    int32_t dims[4];    /* normalized input shape */
    int32_t reduced[4]; /* 1: averaged over */
    int32_t count;      /* values per output */
    int32_t rows;       /* > 0: Eigen row order over [rows][count] (see above) */
} bnn_mean_params;

void bnn_mean_f32(const bnn_mean_params *p, const float *in, float *out);

#endif
