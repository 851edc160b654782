/* bnn_conv2d_s8.c: int8 CONV_2D with per-channel requantization, as TFLite's
 * (ops/conv2d_s8.py), optionally fused with a non-overlapping max pool.
 *
 * The input offset is folded into the bias at generation time
 * (bias[c] - zp_in * sum(w[c])), and taps outside the input read the input
 * zero point, so (x - zp_in) * w is 0 there as in TFLite: each accumulator
 * is bias[c] + sum(x * w) over the patch, the same int32 as TFLite's.
 * Requantization is monotone, so a max pool takes the largest accumulator
 * of its window and requantizes it once: the same bytes.
 *
 * Weights: the patch (k_h*k_w*in_c taps in (ky, kx, ic) order, zero-filled
 * to patch_words whole words of 4 taps) of up to four channels at a time
 * interleaved word by word: [group][word][channel in group][4 taps]; the
 * last group holds out_c % 4 channels when that is not 0. With wide = 1
 * each channel's word is two words of int16 pairs instead, (t0, t2) and
 * (t1, t3) low half first: what SXTB16 would make of it, done at generation
 * time so a convolution, which reads its weights at every position, does not
 * widen them again each time (a fully connected layer reads them once and
 * keeps them int8). */
#ifndef BNN_CONV2D_S8_H
#define BNN_CONV2D_S8_H

#include "bnn_kernels.h"

typedef struct {
    int32_t in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t conv_h, conv_w; /* the convolution's output size, before pooling */
    int32_t pool_h, pool_w; /* 1x1: no pooling; out is (conv_h/pool_h, conv_w/pool_w) */
    int32_t patch_words;    /* ceil(k_h * k_w * in_c / 4) */
    int32_t pad_value;      /* the input zero point */
    int32_t out_zero_point, act_min, act_max;
    int32_t wide;           /* 1: weights widened to int16 (see above) */
} bnn_conv2d_s8_params;

/* scratch: bnn_conv2d_s8_scratch_words(p) words */
#define BNN_CONV2D_S8_SCRATCH_WORDS(patch_words, out_c) (3 * (patch_words) + (out_c) + 3)

void bnn_conv2d_s8(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                   const int32_t *bias /* out_c rounded up to 4 */, const int32_t *mult, const int32_t *shift,
                   uint32_t *scratch, int8_t *out);

#endif
