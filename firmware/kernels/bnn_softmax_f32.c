/* Float softmax, TFLite semantics: exp((x - max) * beta) / sum. */
#include <math.h>

#include "bnn_kernels.h"

void bnn_softmax_f32(const float *in, int32_t n, float beta, float *out)
{
    float max = in[0], sum = 0.0f;
    int32_t i;
    for (i = 1; i < n; i++)
        if (in[i] > max)
            max = in[i];
    for (i = 0; i < n; i++) {
        out[i] = expf((in[i] - max) * beta);
        sum += out[i];
    }
    for (i = 0; i < n; i++)
        out[i] = out[i] / sum;
}
