/* Float average pooling, TFLite AVERAGE_POOL_2D semantics (see the header). */
#include <float.h>

#include "bnn_avgpool_f32.h"

void bnn_avgpool_f32(const bnn_avgpool_params *p, const float *in, float *out)
{
    const int32_t c_n = p->channels;
    float lo = -FLT_MAX, hi = FLT_MAX;
    int32_t oy, ox, c, fy, fx;

    if (p->activation == BNN_POOL_ACT_RELU) {
        lo = 0.0f;
    } else if (p->activation == BNN_POOL_ACT_RELU6) {
        lo = 0.0f;
        hi = 6.0f;
    } else if (p->activation == BNN_POOL_ACT_RELU_N1_TO_1) {
        lo = -1.0f;
        hi = 1.0f;
    }
    for (oy = 0; oy < p->out_h; oy++) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t fy0 = y0 < 0 ? -y0 : 0;
        const int32_t fy1 = p->in_h - y0 < p->filter_h ? p->in_h - y0 : p->filter_h;
        for (ox = 0; ox < p->out_w; ox++) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t fx0 = x0 < 0 ? -x0 : 0;
            const int32_t fx1 = p->in_w - x0 < p->filter_w ? p->in_w - x0 : p->filter_w;
            float *o = out + (oy * p->out_w + ox) * c_n;
            float count;
            for (c = 0; c < c_n; c++)
                o[c] = 0.0f;
            for (fy = fy0; fy < fy1; fy++) {
                for (fx = fx0; fx < fx1; fx++) {
                    const float *x = in + ((y0 + fy) * p->in_w + (x0 + fx)) * c_n;
                    for (c = 0; c < c_n; c++)
                        o[c] = o[c] + x[c];
                }
            }
            count = (float)((fy1 - fy0) * (fx1 - fx0));
            for (c = 0; c < c_n; c++) {
                float v = o[c] / count;
                v = v < lo ? lo : v; /* std::max(v, lo) */
                v = hi < v ? hi : v; /* std::min(v, hi) */
                o[c] = v;
            }
        }
    }
}
