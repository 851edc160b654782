#include "bnn_pad_f32.h"

static void fill(float *dst, int32_t n, float v)
{
    int32_t k;
    for (k = 0; k < n; k++)
        dst[k] = v;
}

void bnn_pad_f32(const bnn_pad_params *p, const float *in, float *out)
{
    union {
        uint32_t u;
        float f;
    } value;
    int32_t od[4], d, a, b, c, k;
    value.u = (uint32_t)p->value_bits;
    for (d = 0; d < 4; d++)
        od[d] = p->before[d] + p->in_shape[d] + p->after[d];
    for (a = 0; a < od[0]; a++) {
        const int32_t ia = a - p->before[0];
        const int in_a = ia >= 0 && ia < p->in_shape[0];
        for (b = 0; b < od[1]; b++) {
            const int32_t ib = b - p->before[1];
            const int in_b = in_a && ib >= 0 && ib < p->in_shape[1];
            for (c = 0; c < od[2]; c++) {
                const int32_t ic = c - p->before[2];
                if (in_b && ic >= 0 && ic < p->in_shape[2]) {
                    const float *src =
                        in + (((size_t)ia * (size_t)p->in_shape[1] + (size_t)ib) *
                                  (size_t)p->in_shape[2] + (size_t)ic) * (size_t)p->in_shape[3];
                    fill(out, p->before[3], value.f);
                    out += p->before[3];
                    for (k = 0; k < p->in_shape[3]; k++)
                        out[k] = src[k];
                    out += p->in_shape[3];
                    fill(out, p->after[3], value.f);
                    out += p->after[3];
                } else {
                    fill(out, od[3], value.f);
                    out += od[3];
                }
            }
        }
    }
}
