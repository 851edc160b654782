#include "bnn_split.h"

void bnn_split_f32(const float *in, int32_t outer, const int32_t *chunks, int32_t n_outputs,
                   float *const *outputs)
{
    int32_t o, k, j;
    for (o = 0; o < outer; o++) {
        for (k = 0; k < n_outputs; k++) {
            const int32_t n = chunks[k];
            float *dst = outputs[k] + (size_t)o * (size_t)n;
            for (j = 0; j < n; j++)
                dst[j] = in[j];
            in += n;
        }
    }
}
