/* bnn_split.c: SPLIT and SPLIT_V as copies (bit-exact by construction).
 *
 * The input is viewed as [outer][sum(chunks)]: `outer` is the product of the
 * dimensions before the split axis, chunks[k] is output k's extent along the
 * axis times the product of the dimensions after it. Output k receives, for
 * each o < outer, the k-th run of chunks[k] values of row o: outer * chunks[k]
 * values. Outputs must not overlap the input or each other.
 */
#ifndef BNN_SPLIT_H
#define BNN_SPLIT_H

#include "bnn_kernels.h"

void bnn_split_f32(const float *in, int32_t outer, const int32_t *chunks, int32_t n_outputs,
                   float *const *outputs);

#endif
