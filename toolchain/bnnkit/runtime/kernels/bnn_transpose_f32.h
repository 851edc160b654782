/* bnn_transpose_f32.c: TRANSPOSE by a constant permutation, float32, as
 * copies (bit-exact by construction).
 *
 * Shapes have 4 dimensions (lower ranks are given leading 1s that the
 * permutation leaves in place). Output dimension k is input dimension perm[k]:
 * out[i0][i1][i2][i3] = in[j] with j[perm[k]] = i_k.
 */
#ifndef BNN_TRANSPOSE_F32_H
#define BNN_TRANSPOSE_F32_H

#include "bnn_kernels.h"

typedef struct {
    int32_t in_shape[4];
    int32_t perm[4]; /* a permutation of 0..3 */
} bnn_transpose_params;

void bnn_transpose_f32(const bnn_transpose_params *p, const float *in, float *out);

#endif
