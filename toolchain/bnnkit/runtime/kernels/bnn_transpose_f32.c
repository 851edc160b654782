#include "bnn_transpose_f32.h"

void bnn_transpose_f32(const bnn_transpose_params *p, const float *in, float *out)
{
    size_t in_stride[4], s[4];
    int32_t od[4], d, a, b, c, k;
    in_stride[3] = 1;
    for (d = 2; d >= 0; d--)
        in_stride[d] = in_stride[d + 1] * (size_t)p->in_shape[d + 1];
    for (d = 0; d < 4; d++) {
        od[d] = p->in_shape[p->perm[d]];
        s[d] = in_stride[p->perm[d]];
    }
    for (a = 0; a < od[0]; a++)
        for (b = 0; b < od[1]; b++)
            for (c = 0; c < od[2]; c++) {
                const float *src = in + (size_t)a * s[0] + (size_t)b * s[1] + (size_t)c * s[2];
                for (k = 0; k < od[3]; k++)
                    *out++ = src[(size_t)k * s[3]];
            }
}
