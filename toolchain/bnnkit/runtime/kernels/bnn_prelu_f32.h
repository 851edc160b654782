/* Float PReLU as TFLite's kernel: out = x >= 0 ? x : x * alpha, alpha a
 * constant broadcast against x (-0.0 stays -0.0; NaN gives NaN * alpha). */
#ifndef BNN_PRELU_F32_H
#define BNN_PRELU_F32_H

#include "bnn_kernels.h"

/* alpha read as alpha[i % channels] (a scalar when channels == 1). */
void bnn_prelu_channel_f32(const float *in, int32_t n, const float *alpha, int32_t channels,
                           float *out);

/* General broadcast: x and out of shape dims[0..3] (outermost first, padded
 * with leading 1s), alpha read at sum ik * alpha_strides[k] (0 along axes it
 * broadcasts). */
typedef struct {
    int32_t dims[4];
    int32_t alpha_strides[4];
} bnn_prelu_params;

void bnn_prelu_bcast_f32(const bnn_prelu_params *p, const float *in, const float *alpha,
                         float *out);

#endif
