/* LceBMaxPool2d: the max of +-1 values is -1 only if all are -1, so with
 * bit 1 = -1 the pooled bits are the AND of the window's words; positions
 * outside the image are ignored, as in a float max pool. */
#include "bnn_kernels.h"

void bnn_bmaxpool(const bnn_bmaxpool_params *p, const uint32_t *in, uint32_t *out)
{
    const int32_t n_words = BNN_WORDS(p->channels);
    int32_t oy, ox, fy, fx, i;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            uint32_t *o = out + (oy * p->out_w + ox) * n_words;
            for (i = 0; i < n_words; i++)
                o[i] = 0xFFFFFFFFu;
            for (fy = 0; fy < p->filter_h; fy++) {
                const int32_t y = oy * p->stride_h - p->pad_top + fy;
                if (y < 0 || y >= p->in_h)
                    continue;
                for (fx = 0; fx < p->filter_w; fx++) {
                    const int32_t x = ox * p->stride_w - p->pad_left + fx;
                    if (x < 0 || x >= p->in_w)
                        continue;
                    for (i = 0; i < n_words; i++)
                        o[i] &= in[(y * p->in_w + x) * n_words + i];
                }
            }
        }
    }
}
