/* Float 2-D convolution, TFLite CONV_2D semantics (NHWC input, OHWI filter),
 * summed in TFLite's reference order (ky, kx, ic) then + bias, then ReLU.
 * With pool_h x pool_w > 1 each output is the max over a non-overlapping pool
 * window of conv outputs computed on the fly: the full conv map never exists. */
#include "bnn_kernels.h"

static float conv_at(const bnn_conv2d_params *p, const float *in, const float *w,
                     const float *bias, int32_t oy, int32_t ox, int32_t oc)
{
    float acc = 0.0f;
    int32_t ky, kx, ic;
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= p->in_h)
            continue;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = x0 + kx;
            const float *px, *wk;
            if (x < 0 || x >= p->in_w)
                continue;
            px = in + (y * p->in_w + x) * p->in_c;
            wk = w + ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
            for (ic = 0; ic < p->in_c; ic++)
                acc += px[ic] * wk[ic];
        }
    }
    acc += bias[oc];
    if (p->relu && acc < 0.0f)
        acc = 0.0f;
    return acc;
}

void bnn_conv2d_f32(const bnn_conv2d_params *p, const float *in, const float *weights,
                    const float *bias, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h;
    const int32_t out_w = p->conv_w / p->pool_w;
    int32_t oy, ox, oc, py, px;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            for (oc = 0; oc < p->out_c; oc++) {
                float best = conv_at(p, in, weights, bias, oy * p->pool_h, ox * p->pool_w, oc);
                for (py = 0; py < p->pool_h; py++) {
                    for (px = 0; px < p->pool_w; px++) {
                        float v;
                        if (py == 0 && px == 0)
                            continue;
                        v = conv_at(p, in, weights, bias, oy * p->pool_h + py,
                                    ox * p->pool_w + px, oc);
                        if (v > best)
                            best = v;
                    }
                }
                out[(oy * out_w + ox) * p->out_c + oc] = best;
            }
        }
    }
}
