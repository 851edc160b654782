/* LceBconv2d: binary 2-D convolution by XOR + popcount, LCE semantics.
 * For float output the +-1 dot product of the taps inside the image is exact
 * (zero padding: outside taps contribute nothing; one padding: they read +1),
 * then clamped by the fused activation, then * multiplier + bias in float32.
 * For bit output, the popcount accumulator is compared with LCE's thresholds. */
#include "bnn_kernels.h"

static int32_t bconv_at(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *w,
                        int32_t oy, int32_t ox, int32_t *inside_taps)
{
    const int32_t n_words = BNN_WORDS(p->in_c);
    const int32_t x_first = ox * p->stride_w - p->pad_left;
    /* a kernel row whose taps are all inside and adjacent is one run of words in
     * the input as in the weights: one popcount call instead of one per tap */
    const int row_contiguous = p->dilation_w == 1 && x_first >= 0 && x_first + p->k_w <= p->in_w;
    int32_t ky, kx, accum = 0, taps = 0;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (row_contiguous && y >= 0 && y < p->in_h) {
            accum += bnn_xor_popcount(in + (y * p->in_w + x_first) * n_words,
                                      w + ky * p->k_w * n_words, p->k_w * n_words);
            taps += p->k_w;
            continue;
        }
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = x_first + kx * p->dilation_w;
            const uint32_t *wk = w + (ky * p->k_w + kx) * n_words;
            if (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) {
                accum += bnn_xor_popcount(in + (y * p->in_w + x) * n_words, wk, n_words);
                taps++;
            } else if (p->one_padding) {
                static const uint32_t plus_one[1] = {0u};
                int32_t i;
                for (i = 0; i < n_words; i++)
                    accum += bnn_xor_popcount(plus_one, wk + i, 1);
                taps++;
            }
        }
    }
    *inside_taps = taps;
    return accum;
}

void bnn_bconv2d_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                     const float *multiplier, const float *bias, float *out)
{
    const int32_t tap_words = p->k_h * p->k_w * BNN_WORDS(p->in_c);
    int32_t oy, ox, oc;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            for (oc = 0; oc < p->out_c; oc++) {
                int32_t taps;
                const int32_t accum = bconv_at(p, in, weights + oc * tap_words, oy, ox, &taps);
                int32_t dot = taps * p->in_c - 2 * accum;
                float v;
                if (dot < p->clamp_min)
                    dot = p->clamp_min;
                if (dot > p->clamp_max)
                    dot = p->clamp_max;
                v = (float)dot * multiplier[oc];
                v = v + bias[oc];
                out[(oy * p->out_w + ox) * p->out_c + oc] = v;
            }
        }
    }
}

void bnn_bconv2d_bits(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                      const int32_t *threshold, uint32_t *out)
{
    const int32_t tap_words = p->k_h * p->k_w * BNN_WORDS(p->in_c);
    const int32_t out_words = BNN_WORDS(p->out_c);
    int32_t oy, ox, oc;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            uint32_t *o = out + (oy * p->out_w + ox) * out_words;
            for (oc = 0; oc < out_words; oc++)
                o[oc] = 0u;
            for (oc = 0; oc < p->out_c; oc++) {
                int32_t taps;
                const int32_t accum = bconv_at(p, in, weights + oc * tap_words, oy, ox, &taps);
                if (accum > threshold[oc])
                    o[oc >> 5] |= 1u << (oc & 31);
            }
        }
    }
}
