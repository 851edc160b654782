/* Threshold encoding (paper 001): each pixel becomes n binary channels, one per
 * interval [lower_k, upper_k), compared in float32 exactly as TFLite's
 * GREATER_EQUAL / LESS / LOGICAL_AND / CAST sequence does. */
#include "bnn_kernels.h"

void bnn_threshold_encode_f32(const float *in, int32_t n_pixels, const float *lower,
                              const float *upper, int32_t channels, float *out)
{
    int32_t i, k;
    for (i = 0; i < n_pixels; i++)
        for (k = 0; k < channels; k++)
            out[i * channels + k] = (in[i] >= lower[k] && in[i] < upper[k]) ? 1.0f : 0.0f;
}

void bnn_threshold_encode_planes(const float *in, int32_t n_pixels, const float *lower,
                                 const float *upper, int32_t channels, uint32_t *planes)
{
    const int32_t n_words = BNN_WORDS(n_pixels);
    int32_t i, k;
    for (i = 0; i < n_words * channels; i++)
        planes[i] = 0u;
    for (k = 0; k < channels; k++) {
        uint32_t *plane = planes + k * n_words;
        for (i = 0; i < n_pixels; i++)
            if (in[i] >= lower[k] && in[i] < upper[k])
                plane[i >> 5] |= 1u << (i & 31);
    }
}
