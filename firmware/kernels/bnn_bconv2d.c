/* LceBconv2d: binary 2-D convolution by XOR + popcount, LCE's arithmetic.
 *
 * The accumulator is LCE's: the popcount of input ^ weights over all k_h*k_w
 * taps, a tap outside the image reading bits 0 (+1), as LCE's im2col pads.
 * Float output (LCE's output transform and zero-padding correction):
 *   x = clamp(2 * accum, clamp_min, clamp_max)       (clamps in this domain)
 *   v = (float)x * multiplier[c] + bias[c]           (multiplier = -m, bias = b + K*m)
 *   zero padding only: v += multiplier[c] * (float)corr, corr = sum over the
 *   outside taps of (in_c - 2 * popcount(w_tap)), which removes their +1s.
 * Bit output: bit c = accum > threshold[c].
 *
 * Speed: the taps of one output position are gathered once into a contiguous
 * patch laid out like one output channel's weights, so each channel costs a
 * single popcount run over all its words. Patches larger than
 * BCONV_PATCH_WORDS are counted tap by tap. */
#include "bnn_kernels.h"

#define BCONV_PATCH_WORDS 64 /* 256 bytes of stack */

static int32_t tap_y(const bnn_bconv2d_params *p, int32_t oy, int32_t ky)
{
    return oy * p->stride_h - p->pad_top + ky * p->dilation_h;
}

static int32_t tap_x(const bnn_bconv2d_params *p, int32_t ox, int32_t kx)
{
    return ox * p->stride_w - p->pad_left + kx * p->dilation_w;
}

static int tap_inside(const bnn_bconv2d_params *p, int32_t y, int32_t x)
{
    return y >= 0 && y < p->in_h && x >= 0 && x < p->in_w;
}

/* Gather the taps of output (oy, ox) into `patch` ([k_h][k_w][words], outside
 * taps as bits 0); 0 if the patch is too large. *outside = any tap outside. */
static int gather_patch(const bnn_bconv2d_params *p, const uint32_t *in, int32_t oy, int32_t ox,
                        uint32_t *patch, int *outside)
{
    const int32_t n_words = BNN_WORDS(p->in_c);
    int32_t ky, kx, i;
    *outside = 0;
    for (ky = 0; ky < p->k_h; ky++)
        for (kx = 0; kx < p->k_w; kx++)
            if (!tap_inside(p, tap_y(p, oy, ky), tap_x(p, ox, kx)))
                *outside = 1;
    if (p->k_h * p->k_w * n_words > BCONV_PATCH_WORDS)
        return 0;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = tap_y(p, oy, ky);
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = tap_x(p, ox, kx);
            uint32_t *dst = patch + (ky * p->k_w + kx) * n_words;
            if (tap_inside(p, y, x)) {
                const uint32_t *src = in + (y * p->in_w + x) * n_words;
                for (i = 0; i < n_words; i++)
                    dst[i] = src[i];
            } else {
                for (i = 0; i < n_words; i++)
                    dst[i] = 0u;
            }
        }
    }
    return 1;
}

/* LCE's accumulator of one output channel (weights `w`) at (oy, ox), from the
 * gathered patch when there is one, else tap by tap. */
static int32_t channel_accum(const bnn_bconv2d_params *p, const uint32_t *in,
                             const uint32_t *patch, const uint32_t *w, int32_t oy, int32_t ox)
{
    static const uint32_t zeros[1] = {0u};
    const int32_t n_words = BNN_WORDS(p->in_c);
    int32_t ky, kx, i, accum = 0;
    if (patch)
        return bnn_xor_popcount(patch, w, p->k_h * p->k_w * n_words);
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = tap_y(p, oy, ky);
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = tap_x(p, ox, kx);
            const uint32_t *wk = w + (ky * p->k_w + kx) * n_words;
            if (tap_inside(p, y, x))
                accum += bnn_xor_popcount(in + (y * p->in_w + x) * n_words, wk, n_words);
            else
                for (i = 0; i < n_words; i++)
                    accum += bnn_xor_popcount(zeros, wk + i, 1);
        }
    }
    return accum;
}

/* Zero padding, as LCE corrects it (its zero_padding_correction): a position
 * whose window overflows the input falls in one of four cases by the sides it
 * overflows (none if it overflows top and bottom, or left and right, at
 * once: LCE then corrects nothing), and the case's taps are those above/left
 * of (cache_y, cache_x) or below/right of it. Returns 0 when LCE applies no
 * correction, else 1 with *corr = sum over those taps of in_c - 2 * popcount(w). */
static int lce_correction(const bnn_bconv2d_params *p, const uint32_t *w, int32_t cy, int32_t cx,
                          int32_t *corr)
{
    static const uint32_t zeros[1] = {0u};
    const int32_t n_words = BNN_WORDS(p->in_c);
    const int32_t eff_h = (p->k_h - 1) * p->dilation_h + 1, eff_w = (p->k_w - 1) * p->dilation_w + 1;
    const int32_t top_off = ((p->conv_h - 1) * p->stride_h + eff_h - p->in_h) / 2;
    const int32_t left_off = ((p->conv_w - 1) * p->stride_w + eff_w - p->in_w) / 2;
    const int32_t o_top = top_off - cy * p->stride_h, o_bot = -o_top - p->in_h + eff_h;
    const int32_t o_left = left_off - cx * p->stride_w, o_right = -o_left - p->in_w + eff_w;
    int32_t kase, at_x, at_y, ky, kx, i;
    if (o_left <= 0 && o_right <= 0 && o_top <= 0 && o_bot <= 0)
        return 0;
    if (o_right <= 0 && o_top > 0 && o_bot < 0) {
        kase = 0, at_x = o_left >= 0 ? o_left : 0, at_y = o_top;
    } else if (o_left < 0 && o_right > 0 && o_bot <= 0) {
        kase = 1, at_x = o_right, at_y = o_top >= 0 ? o_top : 0;
    } else if (o_left > 0 && o_right < 0 && o_top <= 0) {
        kase = 2, at_x = o_left, at_y = o_bot >= 0 ? o_bot : 0;
    } else if (o_left <= 0 && o_top < 0 && o_bot > 0) {
        kase = 3, at_x = o_right >= 0 ? o_right : 0, at_y = o_bot;
    } else {
        return 0;
    }
    *corr = 0;
    for (ky = 0; ky < p->k_h; ky++) {
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t ey = ky * p->dilation_h, ex = kx * p->dilation_w;
            const int up = kase < 2 ? ey < at_y : eff_h - ey <= at_y;
            const int side = (kase & 1) ? eff_w - ex <= at_x : ex < at_x;
            if (up || side) {
                const uint32_t *wk = w + (ky * p->k_w + kx) * n_words;
                int32_t pc = 0;
                for (i = 0; i < n_words; i++)
                    pc += bnn_xor_popcount(zeros, wk + i, 1);
                *corr += p->in_c - 2 * pc;
            }
        }
    }
    return 1;
}

/* One float output of channel oc at conv position (cy, cx). */
static float float_output(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *patch,
                          int outside, const uint32_t *w, const float *multiplier,
                          const float *bias, int32_t oc, int32_t cy, int32_t cx)
{
    int32_t x = 2 * channel_accum(p, in, patch, w, cy, cx);
    float v;
    int32_t corr;
    if (x < p->clamp_min)
        x = p->clamp_min;
    if (x > p->clamp_max)
        x = p->clamp_max;
    v = (float)x * multiplier[oc];
    v = v + bias[oc];
    if (outside && !p->one_padding && lce_correction(p, w, cy, cx, &corr)) {
        const float c = multiplier[oc] * (float)corr;
        v = v + c;
    }
    return v;
}

void bnn_bconv2d_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                     const float *multiplier, const float *bias, float *out)
{
    const int32_t tap_words = p->k_h * p->k_w * BNN_WORDS(p->in_c);
    uint32_t patch[BCONV_PATCH_WORDS];
    int32_t oy, ox, oc, py, px;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            float *o = out + (oy * p->out_w + ox) * p->out_c;
            /* a fused max pool: the window's conv outputs, max taken as they come */
            for (py = 0; py < p->pool_h; py++) {
                for (px = 0; px < p->pool_w; px++) {
                    const int32_t cy = oy * p->pool_h + py, cx = ox * p->pool_w + px;
                    int outside;
                    const uint32_t *gathered =
                        gather_patch(p, in, cy, cx, patch, &outside) ? patch : NULL;
                    for (oc = 0; oc < p->out_c; oc++) {
                        const float v = float_output(p, in, gathered, outside,
                                                     weights + oc * tap_words, multiplier, bias,
                                                     oc, cy, cx);
                        if ((py == 0 && px == 0) || v > o[oc])
                            o[oc] = v;
                    }
                }
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
    int32_t oy, ox, oc, py, px;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            uint32_t *o = out + (oy * p->out_w + ox) * out_words;
            /* a fused binary max pool: AND of the window's bits (bit 1 = -1) */
            for (oc = 0; oc < out_words; oc++)
                o[oc] = 0xFFFFFFFFu;
            for (py = 0; py < p->pool_h; py++) {
                for (px = 0; px < p->pool_w; px++) {
                    const int32_t cy = oy * p->pool_h + py, cx = ox * p->pool_w + px;
                    int outside;
                    const uint32_t *gathered =
                        gather_patch(p, in, cy, cx, patch, &outside) ? patch : NULL;
                    for (oc = 0; oc < p->out_c; oc++) {
                        const int32_t accum = channel_accum(p, in, gathered,
                                                            weights + oc * tap_words, cy, cx);
                        if (accum <= threshold[oc])
                            o[oc >> 5] &= ~(1u << (oc & 31));
                    }
                }
            }
            if (p->out_c & 31)
                o[out_words - 1] &= (1u << (p->out_c & 31)) - 1u; /* padding bits 0 */
        }
    }
}
