#include "bnn_concat.h"

void bnn_concat_f32(const float *const *inputs, const int32_t *chunks, int32_t n_inputs,
                    int32_t outer, int32_t relu, float *out)
{
    int32_t o, i, k;
    for (o = 0; o < outer; o++) {
        for (i = 0; i < n_inputs; i++) {
            const int32_t n = chunks[i];
            const float *src = inputs[i] + (size_t)o * (size_t)n;
            if (relu) {
                for (k = 0; k < n; k++)
                    out[k] = src[k] < 0.0f ? 0.0f : src[k];
            } else {
                for (k = 0; k < n; k++)
                    out[k] = src[k];
            }
            out += n;
        }
    }
}

void bnn_concat_u32(const uint32_t *const *inputs, const int32_t *chunks, int32_t n_inputs,
                    int32_t outer, uint32_t *out)
{
    int32_t o, i, k;
    for (o = 0; o < outer; o++) {
        for (i = 0; i < n_inputs; i++) {
            const int32_t n = chunks[i];
            const uint32_t *src = inputs[i] + (size_t)o * (size_t)n;
            for (k = 0; k < n; k++)
                out[k] = src[k];
            out += n;
        }
    }
}
