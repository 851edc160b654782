/* SELECT(GREATER_EQUAL(x, t), a, b): a tf.where sign or step, elementwise. */
#ifndef BNN_SELECT_F32_H
#define BNN_SELECT_F32_H

#include "bnn_kernels.h"

/* out[i] = in[i] >= threshold ? a[i % n_a] : b[i % n_b], where n_a and n_b are
 * 1 (a scalar) or n (one value per element). */
void bnn_select_ge_f32(const float *in, int32_t n, float threshold, const float *a, int32_t n_a,
                       const float *b, int32_t n_b, float *out);

#endif
