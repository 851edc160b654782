/* LceBconv2d: binary 2-D convolution by XOR + popcount, LCE semantics.
 * For float output the +-1 dot product of the taps inside the image is exact
 * (zero padding: outside taps contribute nothing; one padding: they read +1),
 * then clamped by the fused activation, then * multiplier + bias in float32.
 * For bit output, the popcount accumulator is compared with LCE's thresholds.
 *
 * Speed: the taps of one output position are gathered once into a contiguous
 * patch laid out like one output channel's weights, so each channel costs a
 * single popcount run over all its words. Positions whose patch cannot be
 * gathered (zero padding reaching outside the image, or a patch larger than
 * BCONV_PATCH_WORDS) are computed tap by tap. */
#include "bnn_kernels.h"

#define BCONV_PATCH_WORDS 64 /* 256 bytes of stack */

/* Gather the taps of output (oy, ox) into `patch` ([k_h][k_w][words], outside
 * taps as +1 = bits 0 under one padding); 0 if it cannot be done. */
static int gather_patch(const bnn_bconv2d_params *p, const uint32_t *in, int32_t oy, int32_t ox,
                        uint32_t *patch)
{
    const int32_t n_words = BNN_WORDS(p->in_c);
    int32_t ky, kx, i;
    if (p->k_h * p->k_w * n_words > BCONV_PATCH_WORDS)
        return 0;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            uint32_t *dst = patch + (ky * p->k_w + kx) * n_words;
            if (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) {
                const uint32_t *src = in + (y * p->in_w + x) * n_words;
                for (i = 0; i < n_words; i++)
                    dst[i] = src[i];
            } else if (p->one_padding) {
                for (i = 0; i < n_words; i++)
                    dst[i] = 0u;
            } else {
                return 0;
            }
        }
    }
    return 1;
}

static int32_t bconv_at(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *w,
                        int32_t oy, int32_t ox, int32_t *inside_taps)
{
    const int32_t n_words = BNN_WORDS(p->in_c);
    int32_t ky, kx, accum = 0, taps = 0;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
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

/* Popcount accumulator of one output channel (weights `w`) at (oy, ox), from
 * the gathered patch when there is one; *taps = the taps counted. */
static int32_t channel_accum(const bnn_bconv2d_params *p, const uint32_t *in,
                             const uint32_t *patch, const uint32_t *w, int32_t oy, int32_t ox,
                             int32_t *taps)
{
    if (patch) {
        *taps = p->k_h * p->k_w;
        return bnn_xor_popcount(patch, w, p->k_h * p->k_w * BNN_WORDS(p->in_c));
    }
    return bconv_at(p, in, w, oy, ox, taps);
}

void bnn_bconv2d_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                     const float *multiplier, const float *bias, float *out)
{
    const int32_t tap_words = p->k_h * p->k_w * BNN_WORDS(p->in_c);
    uint32_t patch[BCONV_PATCH_WORDS];
    int32_t oy, ox, oc;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            const uint32_t *gathered = gather_patch(p, in, oy, ox, patch) ? patch : NULL;
            for (oc = 0; oc < p->out_c; oc++) {
                int32_t taps;
                const int32_t accum = channel_accum(p, in, gathered, weights + oc * tap_words,
                                                    oy, ox, &taps);
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
    uint32_t patch[BCONV_PATCH_WORDS];
    int32_t oy, ox, oc;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            uint32_t *o = out + (oy * p->out_w + ox) * out_words;
            const uint32_t *gathered = gather_patch(p, in, oy, ox, patch) ? patch : NULL;
            for (oc = 0; oc < out_words; oc++)
                o[oc] = 0u;
            for (oc = 0; oc < p->out_c; oc++) {
                int32_t taps;
                const int32_t accum = channel_accum(p, in, gathered, weights + oc * tap_words,
                                                    oy, ox, &taps);
                if (accum > threshold[oc])
                    o[oc >> 5] |= 1u << (oc & 31);
            }
        }
    }
}
