/* bnn_concat.c: CONCATENATION as copies (bit-exact by construction).
 *
 * Every tensor is viewed as [outer][chunk]: `outer` is the product of the
 * dimensions before the concatenation axis (the same for every input), and
 * chunks[i] is input i's extent along the axis times the product of the
 * dimensions after it. The output holds, for each o < outer, input 0's chunk o,
 * then input 1's chunk o, ...: outer * sum(chunks) values in all.
 */
#ifndef BNN_CONCAT_H
#define BNN_CONCAT_H

#include "bnn_kernels.h"

/* Float inputs; with relu, values below 0.0f become 0.0f (NaN and -0.0f kept). */
void bnn_concat_f32(const float *const *inputs, const int32_t *chunks, int32_t n_inputs,
                    int32_t outer, int32_t relu, float *out);

/* Bit-packed inputs (LCE's int32 words): chunks are counted in words. */
void bnn_concat_u32(const uint32_t *const *inputs, const int32_t *chunks, int32_t n_inputs,
                    int32_t outer, uint32_t *out);

#endif
