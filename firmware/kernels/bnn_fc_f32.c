/* Float fully connected layer, TFLite FULLY_CONNECTED semantics:
 * the dot product first, then the bias, then the fused ReLU. */
#include "bnn_kernels.h"

void bnn_fc_f32(const float *in, int32_t n_in, const float *weights, const float *bias,
                int32_t n_out, int32_t relu, float *out)
{
    int32_t i, j;
    for (j = 0; j < n_out; j++) {
        const float *row = weights + j * n_in;
        float acc = 0.0f;
        for (i = 0; i < n_in; i++)
            acc += in[i] * row[i];
        acc += bias[j];
        if (relu && acc < 0.0f)
            acc = 0.0f;
        out[j] = acc;
    }
}
