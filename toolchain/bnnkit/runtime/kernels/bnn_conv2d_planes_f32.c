/* Float convolution whose input is 0/1 bit-planes (a threshold-encoded image):
 * instead of multiplying, a set input bit adds the weight (fmaf(1, w, acc) is
 * acc + w rounded once; fmaf(0, w, acc) is acc). Start from the bias, order,
 * ReLU and the fused max pool are those of bnn_conv2d_f32, so results are
 * bit-identical to convolving the 0.0/1.0 float image. */
#include "bnn_kernels.h"

#define OC_BLOCK BNN_CONV_OC_BLOCK

static void planes_block(const bnn_conv2d_params *p, const uint32_t *planes, const float *w,
                         const float *bias, int32_t cy, int32_t cx, int32_t oc0, float *result)
{
    float acc[OC_BLOCK];
    const int32_t plane_words = BNN_WORDS(p->in_h * p->in_w);
    const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t y0 = cy * p->stride_h - p->pad_top;
    const int32_t x0 = cx * p->stride_w - p->pad_left;
    int32_t ky, kx, ic, o;
    for (o = 0; o < OC_BLOCK; o++)
        acc[o] = bias[oc0 + o];
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= p->in_h)
            continue;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = x0 + kx;
            int32_t pixel;
            const float *wk;
            if (x < 0 || x >= p->in_w)
                continue;
            pixel = y * p->in_w + x;
            wk = w + (ky * p->k_w + kx) * p->in_c * oc_stride + oc0;
            for (ic = 0; ic < p->in_c; ic++) {
                const float *wr = wk + ic * oc_stride;
                if (!((planes[ic * plane_words + (pixel >> 5)] >> (pixel & 31)) & 1u))
                    continue;
                for (o = 0; o < OC_BLOCK; o++)
                    acc[o] += wr[o];
            }
        }
    }
    for (o = 0; o < OC_BLOCK; o++)
        result[o] = acc[o];
}

void bnn_conv2d_planes_f32(const bnn_conv2d_params *p, const uint32_t *planes,
                           const float *weights, const float *bias, float *out)
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
                        planes_block(p, planes, weights, bias, oy * p->pool_h + py,
                                     ox * p->pool_w + px, oc0, acc);
                        for (o = 0; o < nb; o++) {
                            float v = acc[o];
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
