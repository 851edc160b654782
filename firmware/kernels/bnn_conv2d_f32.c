/* Float 2-D convolution, TFLite CONV_2D semantics (NHWC input), summed for
 * each output channel in TFLite's reference order (ky, kx, ic) from 0, then
 * + bias, then ReLU. Weights are HWIO (bnnkit transposes TFLite's OHWI) so the
 * innermost loop runs over a fixed block of contiguous output channels and
 * vectorizes without reordering any sum; the O axis is zero-padded to a
 * multiple of BNN_CONV_OC_BLOCK (padding channels are computed, never stored). With pool_h x pool_w > 1 each output is the max over a
 * non-overlapping pool window of conv outputs computed on the fly: the full
 * conv map never exists in memory. */
#include "bnn_kernels.h"

#define OC_BLOCK BNN_CONV_OC_BLOCK

static void conv_block(const bnn_conv2d_params *p, const float *in, const float *w,
                       int32_t cy, int32_t cx, int32_t oc0, float *result)
{
    float acc[OC_BLOCK]; /* local: no aliasing with in/w, so it stays in registers */
    int32_t ky, kx, ic, o;
    const int32_t y0 = cy * p->stride_h - p->pad_top;
    const int32_t x0 = cx * p->stride_w - p->pad_left;
    const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);
    for (o = 0; o < OC_BLOCK; o++)
        acc[o] = 0.0f;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= p->in_h)
            continue;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = x0 + kx;
            const float *pixel, *wk;
            if (x < 0 || x >= p->in_w)
                continue;
            pixel = in + (y * p->in_w + x) * p->in_c;
            wk = w + (ky * p->k_w + kx) * p->in_c * oc_stride + oc0;
            for (ic = 0; ic < p->in_c; ic++) {
                const float v = pixel[ic];
                const float *wr = wk + ic * oc_stride;
                for (o = 0; o < OC_BLOCK; o++)
                    acc[o] += v * wr[o];
            }
        }
    }
    for (o = 0; o < OC_BLOCK; o++)
        result[o] = acc[o];
}

void bnn_conv2d_f32(const bnn_conv2d_params *p, const float *in, const float *weights,
                    const float *bias, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h;
    const int32_t out_w = p->conv_w / p->pool_w;
    float acc[OC_BLOCK], best[OC_BLOCK];
    int32_t oy, ox, oc0, py, px, o;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            for (oc0 = 0; oc0 < p->out_c; oc0 += OC_BLOCK) {
                const int32_t nb = p->out_c - oc0 < OC_BLOCK ? p->out_c - oc0 : OC_BLOCK;
                for (py = 0; py < p->pool_h; py++) {
                    for (px = 0; px < p->pool_w; px++) {
                        conv_block(p, in, weights, oy * p->pool_h + py, ox * p->pool_w + px,
                                   oc0, acc);
                        for (o = 0; o < nb; o++) {
                            float v = acc[o] + bias[oc0 + o];
                            if (p->relu && v < 0.0f)
                                v = 0.0f;
                            if ((py == 0 && px == 0) || v > best[o])
                                best[o] = v;
                        }
                    }
                }
                for (o = 0; o < nb; o++)
                    out[(oy * out_w + ox) * p->out_c + oc0 + o] = best[o];
            }
        }
    }
}
