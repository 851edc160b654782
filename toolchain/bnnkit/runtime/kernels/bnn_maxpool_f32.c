/* Float max pooling, TFLite MAX_POOL_2D semantics: padded positions are
 * ignored (never compared), then optional ReLU. */
#include "bnn_kernels.h"

void bnn_maxpool_f32(const bnn_maxpool_params *p, const float *in, float *out)
{
    int32_t oy, ox, c, fy, fx;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            for (c = 0; c < p->channels; c++) {
                float best = 0.0f;
                int32_t seen = 0;
                for (fy = 0; fy < p->filter_h; fy++) {
                    const int32_t y = oy * p->stride_h - p->pad_top + fy;
                    if (y < 0 || y >= p->in_h)
                        continue;
                    for (fx = 0; fx < p->filter_w; fx++) {
                        const int32_t x = ox * p->stride_w - p->pad_left + fx;
                        float v;
                        if (x < 0 || x >= p->in_w)
                            continue;
                        v = in[(y * p->in_w + x) * p->channels + c];
                        if (!seen || v > best)
                            best = v;
                        seen = 1;
                    }
                }
                if (p->relu && best < 0.0f)
                    best = 0.0f;
                out[(oy * p->out_w + ox) * p->channels + c] = best;
            }
        }
    }
}
