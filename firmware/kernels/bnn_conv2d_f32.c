/* Float 2-D convolution, TFLite CONV_2D semantics (NHWC input), summed for each
 * output in TFLite's reference order (ky, kx, ic) from 0, then + bias, then ReLU.
 *
 * Layout for speed without reordering any sum: weights are HWIO (bnnkit
 * transposes TFLite's OHWI) with O zero-padded to a multiple of
 * BNN_CONV_OC_BLOCK, so the innermost loop is a fixed-width block of output
 * channels held in registers (16 wide when the channel count allows). The taps
 * inside the image are found once per output, not tested per multiply. With
 * pool_h x pool_w > 1 each output is the max over a non-overlapping pool window
 * of conv outputs computed on the fly: the full conv map never exists. */
#include "bnn_kernels.h"

static int32_t clamp_range(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#define DEFINE_CONV_BLOCK(BLOCK)                                                            \
    static void conv_block##BLOCK(const bnn_conv2d_params *p, const float *in,             \
                                  const float *w, int32_t cy, int32_t cx, int32_t oc0,     \
                                  float *result)                                           \
    {                                                                                       \
        float acc[BLOCK]; /* local: no aliasing with in/w, so it stays in registers */     \
        const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);                             \
        const int32_t y0 = cy * p->stride_h - p->pad_top;                                   \
        const int32_t x0 = cx * p->stride_w - p->pad_left;                                  \
        const int32_t ky_lo = clamp_range(-y0, 0, p->k_h);                                  \
        const int32_t ky_hi = clamp_range(p->in_h - y0, 0, p->k_h);                         \
        const int32_t kx_lo = clamp_range(-x0, 0, p->k_w);                                  \
        const int32_t kx_hi = clamp_range(p->in_w - x0, 0, p->k_w);                         \
        const int32_t tap_floats = p->in_c * oc_stride;                                     \
        int32_t ky, kx, ic, o;                                                              \
        for (o = 0; o < BLOCK; o++)                                                         \
            acc[o] = 0.0f;                                                                  \
        for (ky = ky_lo; ky < ky_hi; ky++) {                                                \
            const float *pixel = in + ((y0 + ky) * p->in_w + x0 + kx_lo) * p->in_c;         \
            const float *wk = w + (ky * p->k_w + kx_lo) * tap_floats + oc0;                 \
            for (kx = kx_lo; kx < kx_hi; kx++) {                                            \
                const float *wr = wk;                                                       \
                for (ic = 0; ic < p->in_c; ic++) {                                          \
                    const float v = pixel[ic];                                              \
                    for (o = 0; o < BLOCK; o++)                                             \
                        acc[o] += v * wr[o];                                                \
                    wr += oc_stride;                                                        \
                }                                                                           \
                pixel += p->in_c;                                                           \
                wk += tap_floats;                                                           \
            }                                                                               \
        }                                                                                   \
        for (o = 0; o < BLOCK; o++)                                                         \
            result[o] = acc[o];                                                             \
    }

DEFINE_CONV_BLOCK(8)
DEFINE_CONV_BLOCK(16)

void bnn_conv2d_f32(const bnn_conv2d_params *p, const float *in, const float *weights,
                    const float *bias, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h;
    const int32_t out_w = p->conv_w / p->pool_w;
    const int32_t block = p->out_c % 16 == 0 ? 16 : BNN_CONV_OC_BLOCK;
    float acc[16], best[16];
    int32_t oy, ox, oc0, py, px, o;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            for (oc0 = 0; oc0 < p->out_c; oc0 += block) {
                const int32_t nb = p->out_c - oc0 < block ? p->out_c - oc0 : block;
                for (py = 0; py < p->pool_h; py++) {
                    for (px = 0; px < p->pool_w; px++) {
                        const int32_t cy = oy * p->pool_h + py, cx = ox * p->pool_w + px;
                        if (block == 16)
                            conv_block16(p, in, weights, cy, cx, oc0, acc);
                        else
                            conv_block8(p, in, weights, cy, cx, oc0, acc);
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
