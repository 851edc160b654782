/* int8 max pooling, TFLite MAX_POOL_2D semantics: positions outside the input
 * are never compared; the result is clamped to [act_min, act_max] (the fused
 * activation; input and output share one quantization). */
#include "bnn_maxpool_s8.h"

void bnn_maxpool_s8(const bnn_maxpool_params *p, int32_t act_min, int32_t act_max,
                    const int8_t *in, int8_t *out)
{
    int32_t oy, ox, c, fy, fx;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            for (c = 0; c < p->channels; c++) {
                int32_t best = act_min;
                for (fy = 0; fy < p->filter_h; fy++) {
                    const int32_t y = oy * p->stride_h - p->pad_top + fy;
                    if (y < 0 || y >= p->in_h)
                        continue;
                    for (fx = 0; fx < p->filter_w; fx++) {
                        const int32_t x = ox * p->stride_w - p->pad_left + fx;
                        int32_t v;
                        if (x < 0 || x >= p->in_w)
                            continue;
                        v = in[(y * p->in_w + x) * p->channels + c];
                        best = v > best ? v : best;
                    }
                }
                out[(oy * p->out_w + ox) * p->channels + c] = (int8_t)(best > act_max ? act_max
                                                                                     : best);
            }
        }
    }
}
