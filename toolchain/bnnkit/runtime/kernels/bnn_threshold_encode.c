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

void bnn_threshold_encode_index(const float *in, int32_t in_h, int32_t in_w,
                                const float *lower, const float *upper, int32_t channels,
                                int32_t pad_top, int32_t pad_left, int32_t map_h,
                                int32_t map_w, uint32_t *out)
{
    uint8_t *map = (uint8_t *)out; /* a character type may alias any object */
    int32_t r, c, k;
    for (r = 0; r < map_h; r++) {
        const int32_t y = r - pad_top;
        for (c = 0; c < map_w; c++) {
            const int32_t x = c - pad_left;
            int32_t hit = channels;
            if (y >= 0 && y < in_h && x >= 0 && x < in_w) {
                const float v = in[y * in_w + x];
                for (k = 0; k < channels; k++)
                    if (v >= lower[k] && v < upper[k]) {
                        hit = k;
                        break;
                    }
            }
            map[r * map_w + c] = (uint8_t)hit;
        }
    }
}
