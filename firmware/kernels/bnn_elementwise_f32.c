/* Float MUL / ADD: by a per-channel constant (batch norm) or of two tensors. */
#include "bnn_kernels.h"

static float relu_if(float v, int32_t relu)
{
    return (relu && v < 0.0f) ? 0.0f : v;
}

void bnn_mul_const_f32(const float *in, int32_t n, const float *c, int32_t channels,
                       int32_t relu, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = relu_if(in[i] * c[i % channels], relu);
}

void bnn_add_const_f32(const float *in, int32_t n, const float *c, int32_t channels,
                       int32_t relu, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = relu_if(in[i] + c[i % channels], relu);
}

void bnn_binary_op_f32(const float *a, const float *b, int32_t n, int32_t is_mul,
                       int32_t relu, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = relu_if(is_mul ? a[i] * b[i] : a[i] + b[i], relu);
}
