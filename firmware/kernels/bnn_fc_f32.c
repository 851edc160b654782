/* Float fully connected layer, TFLite FULLY_CONNECTED semantics: for each
 * output the dot product summed over inputs in order from 0, then the bias,
 * then the fused ReLU. Weights are stored input-major ([n_in][n_out], bnnkit
 * transposes TFLite's [n_out][n_in]) so the inner loop runs across outputs and
 * vectorizes while every output's sum keeps its order. */
#include "bnn_kernels.h"

void bnn_fc_f32(const float *restrict in, int32_t n_in, const float *restrict weights,
                const float *restrict bias, int32_t n_out, int32_t relu, float *restrict out)
{
    int32_t i, j;
    for (j = 0; j < n_out; j++)
        out[j] = 0.0f;
    for (i = 0; i < n_in; i++) {
        const float v = in[i];
        const float *restrict row = weights + i * n_out;
        for (j = 0; j < n_out; j++)
            out[j] += v * row[j];
    }
    for (j = 0; j < n_out; j++) {
        float acc = out[j] + bias[j];
        if (relu && acc < 0.0f)
            acc = 0.0f;
        out[j] = acc;
    }
}
