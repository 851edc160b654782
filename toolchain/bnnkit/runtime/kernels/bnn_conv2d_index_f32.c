/* Float convolution of a threshold-encoded image whose intervals are disjoint:
 * each pixel has at most one channel at 1, so of its in_c taps only that one adds
 * its weights (fmaf(1, w, acc) is acc + w rounded once) and the others add
 * 0 * w, which leaves acc unchanged as long as acc is not -0.0 (bnnkit uses this
 * kernel only when no bias is -0.0; then no sum ever is). One byte per padded
 * pixel names the interval (bnn_threshold_encode_index), so a tap is one load of
 * the byte and one weight row added: no bit tests, no bounds tests (padding
 * and "no interval" read the all-zero row in_c). Start from the bias, the (ky,
 * kx) order, ReLU and the fused max pool are bnn_conv2d_f32's: the same bits. */
#include "bnn_kernels.h"

#define ADD8(wr)                                                                              \
    a0 += wr[0];                                                                              \
    a1 += wr[1];                                                                              \
    a2 += wr[2];                                                                              \
    a3 += wr[3];                                                                              \
    a4 += wr[4];                                                                              \
    a5 += wr[5];                                                                              \
    a6 += wr[6];                                                                              \
    a7 += wr[7]

void bnn_conv2d_index_f32(const bnn_conv2d_params *p, const uint32_t *index, int32_t map_w,
                          const float *weights, const float *bias, float *out)
{
    const uint8_t *map = (const uint8_t *)index;
    const int32_t out_h = p->conv_h / p->pool_h, out_w = p->conv_w / p->pool_w;
    const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t row_floats = (p->in_c + 1) * oc_stride; /* one tap's rows */
    float best[BNN_CONV_OC_BLOCK];
    int32_t oy, ox, oc0, py, px, ky, kx, o;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            for (oc0 = 0; oc0 < p->out_c; oc0 += BNN_CONV_OC_BLOCK) {
                const int32_t nb = p->out_c - oc0 < BNN_CONV_OC_BLOCK ? p->out_c - oc0
                                                                      : BNN_CONV_OC_BLOCK;
                for (py = 0; py < p->pool_h; py++) {
                    for (px = 0; px < p->pool_w; px++) {
                        const int32_t cy = oy * p->pool_h + py, cx = ox * p->pool_w + px;
                        const uint8_t *at = map + cy * p->stride_h * map_w + cx * p->stride_w;
                        const float *w = weights + oc0;
                        float a0 = bias[oc0], a1 = bias[oc0 + 1], a2 = bias[oc0 + 2];
                        float a3 = bias[oc0 + 3], a4 = bias[oc0 + 4], a5 = bias[oc0 + 5];
                        float a6 = bias[oc0 + 6], a7 = bias[oc0 + 7];
                        for (ky = 0; ky < p->k_h; ky++, at += map_w) {
                            for (kx = 0; kx < p->k_w; kx++, w += row_floats) {
                                const float *wr = w + at[kx] * oc_stride;
                                ADD8(wr);
                            }
                        }
                        {
                            const float v[BNN_CONV_OC_BLOCK] = {a0, a1, a2, a3, a4, a5, a6, a7};
                            for (o = 0; o < nb; o++) {
                                const float r = p->relu && v[o] < 0.0f ? 0.0f : v[o];
                                best[o] = (py == 0 && px == 0) || r > best[o] ? r : best[o];
                            }
                        }
                    }
                }
                for (o = 0; o < nb; o++)
                    out[(oy * out_w + ox) * p->out_c + oc0 + o] = best[o];
            }
        }
    }
}
