/* Float max pooling, TFLite MAX_POOL_2D semantics: padded positions are
 * ignored (never compared), then optional ReLU. Each output starts from the
 * window's first tap inside the input, and a later tap replaces it only when
 * strictly greater (a NaN tap never does; a first-tap NaN stays), taps in
 * (fy, fx) order; a window with no tap inside gives 0.
 *
 * Speed: the taps inside the input are found once per position, and the
 * channels are the inner loop over one contiguous row per tap (no bounds test
 * or index product per compared value). */
#include "bnn_kernels.h"

void bnn_maxpool_f32(const bnn_maxpool_params *p, const float *in, float *out)
{
    const int32_t ch = p->channels, row = p->in_w * ch;
    int32_t oy, ox, c, fy, fx, fy0, fy1, fx0, fx1;
    for (oy = 0; oy < p->out_h; oy++) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        bnn_inside_taps(y0, 1, p->filter_h, p->in_h, &fy0, &fy1);
        for (ox = 0; ox < p->out_w; ox++) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            float *o = out + (oy * p->out_w + ox) * ch;
            const float *first;
            bnn_inside_taps(x0, 1, p->filter_w, p->in_w, &fx0, &fx1);
            if (fy0 == fy1 || fx0 == fx1) {
                for (c = 0; c < ch; c++)
                    o[c] = 0.0f;
                continue;
            }
            first = in + (y0 + fy0) * row + (x0 + fx0) * ch;
            for (c = 0; c < ch; c++)
                o[c] = first[c];
            for (fy = fy0; fy < fy1; fy++) {
                for (fx = fy == fy0 ? fx0 + 1 : fx0; fx < fx1; fx++) {
                    const float *src = in + (y0 + fy) * row + (x0 + fx) * ch;
                    for (c = 0; c < ch; c++) {
                        const float v = src[c], best = o[c];
                        o[c] = v > best ? v : best;
                    }
                }
            }
            if (p->relu)
                for (c = 0; c < ch; c++)
                    o[c] = o[c] < 0.0f ? 0.0f : o[c];
        }
    }
}
