/* LceDequantize: packed sign bits -> +-1.0f. */
#include "bnn_kernels.h"

void bnn_dequantize(const uint32_t *in, int32_t outer, int32_t channels, float *out)
{
    const int32_t n_words = BNN_WORDS(channels);
    int32_t o, c;
    for (o = 0; o < outer; o++)
        for (c = 0; c < channels; c++)
            out[o * channels + c] = ((in[o * n_words + (c >> 5)] >> (c & 31)) & 1u) ? -1.0f : 1.0f;
}
