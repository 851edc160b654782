/* Float PReLU: see bnn_prelu_f32.h. */
#include "bnn_prelu_f32.h"

static float prelu(float x, float a)
{
    return x >= 0.0f ? x : x * a;
}

void bnn_prelu_channel_f32(const float *in, int32_t n, const float *alpha, int32_t channels,
                           float *out)
{
    int32_t i, j;
    for (i = 0; i < n; i += channels)
        for (j = 0; j < channels; j++)
            out[i + j] = prelu(in[i + j], alpha[j]);
}

void bnn_prelu_bcast_f32(const bnn_prelu_params *p, const float *in, const float *alpha,
                         float *out)
{
    const int32_t *d = p->dims, *s = p->alpha_strides;
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < d[0]; i0++)
        for (i1 = 0; i1 < d[1]; i1++)
            for (i2 = 0; i2 < d[2]; i2++) {
                const float *pa = alpha + i0 * s[0] + i1 * s[1] + i2 * s[2];
                for (i3 = 0; i3 < d[3]; i3++, in++, out++)
                    *out = prelu(*in, pa[i3 * s[3]]);
            }
}
