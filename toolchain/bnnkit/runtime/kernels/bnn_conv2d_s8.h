/* bnn_conv2d_s8.c: int8 CONV_2D with per-channel requantization, as TFLite's
 * (ops/conv2d_s8.py), optionally fused with a non-overlapping max pool; also
 * int8 FULLY_CONNECTED, as a conv with one position.
 *
 * The input offset is folded into the bias at generation time
 * (bias[c] - zp_in * sum(w[c])), and taps outside the input read the input
 * zero point, so (x - zp_in) * w is 0 there as in TFLite: each accumulator
 * is bias[c] + sum(x * w) over the patch, the same int32 as TFLite's (int32
 * sums do not depend on their order). Requantization is monotone, so a max
 * pool takes the largest accumulator of its window and requantizes it once:
 * the same bytes.
 *
 * Two paths, chosen at generation time:
 * - rows (ring_rows > 0, a conv with more than one position): the input rows
 *   a pooled output row needs are copied once into a ring of zero-point
 *   padded rows (widened to int16 when wide = 1, for SMLAD), and two
 *   positions times two channels are summed at a time, so each weight and
 *   each input load serves two multiply-adds. Each input row is read once, in
 *   order, before the output row that first needs it is written: `out` may be
 *   `in` where no output row reaches an input row not yet read (no pool;
 *   ops/_geometry.py: rows_read_before_written, e.g. a 1x1 conv that does not
 *   widen the channels). A one-row kernel (k_h = 1, no pool) whose output rows
 *   are longer than its input rows (a 1x1 conv that widens) goes from the last
 *   row to the first instead, so that its output may be written over its input
 *   too (rows_read_before_written with backward=True). Weights: [channel pair][ky]
 *   [tap][2 channels]; wide = 1: [channel pair][ky][tap pair][2 channels] as
 *   int16 pairs (low half the even tap), taps zero-filled to whole pairs; an
 *   odd last channel pairs with zero weights.
 * - patch (ring_rows = 0, one position): the patch (k_h*k_w*in_c taps,
 *   zero-filled to patch_words words of 4) of up to four channels at a time
 *   interleaved word by word: [group][word][channel in group][4 taps]. */
#ifndef BNN_CONV2D_S8_H
#define BNN_CONV2D_S8_H

#include "bnn_elementwise_s8.h"
#include "bnn_kernels.h"

typedef struct {
    int32_t in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t conv_h, conv_w; /* the convolution's output size, before pooling */
    int32_t pool_h, pool_w; /* 1x1: no pooling; out is (conv_h/pool_h, conv_w/pool_w) */
    int32_t patch_words;    /* patch path: ceil(k_h * k_w * in_c / 4) */
    int32_t pad_value;      /* the input zero point */
    int32_t out_zero_point, act_min, act_max;
    int32_t ties_up;        /* the requantization's last rounding: 1 ties toward +inf (ruy,
                               LCE's interpreter), 0 away from zero (TFLite's reference
                               kernels, TFLite Micro, CMSIS-NN) */
    int32_t fast_requant;   /* with ties_up 0: every |acc| < 2^30 and every shift < 0,
                               so bnn_requantize_away_small is exact (ops/conv2d_s8.py) */
    int32_t wide;           /* rows path: 1 = int16 ring and weights (cores with SMLAD) */
    int32_t ring_rows;      /* rows path: (pool_h - 1) * stride_h + k_h; 0: patch path */
    int32_t ring_len;       /* rows path: elements per ring row, even */
} bnn_conv2d_s8_params;

/* scratch: sized by the generator (ops/conv2d_s8.py: scratch_bytes_s8 for the
 * patch path, the patch, its widening and the sums; ring_layout for the rows
 * path, the ring, k_h row offsets, one int32 per pooled output and channel
 * rounded up to 4, and 4 sums per channel pair) */
void bnn_conv2d_s8(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                   const int32_t *bias /* out_c rounded up to 4 */, const int32_t *mult, const int32_t *shift,
                   uint32_t *scratch, int8_t *out);
/* bnn_conv2d_s8 (rows path, no fused pool) and the residual ADD after it:
 * BNN_S8_ADD_POSITIONS output positions at a time requantized into scratch
 * (after the rows path's: that many times out_c bytes; few on Cortex-M, where
 * RAM is short, a whole row of most layers elsewhere, where the requantization
 * runs faster over more positions), then out = ADD(conv, skip) with
 * conv_first, else ADD(skip, conv), in `add`'s arithmetic
 * (bnn_elementwise_s8.h). skip has out's shape and may be out itself (each
 * value is read before it is written). ops/conv2d_s8.py mirrors the count. */
#if BNN_SMALL_CORE
#define BNN_S8_ADD_POSITIONS 8
#else
#define BNN_S8_ADD_POSITIONS 64
#endif
void bnn_conv2d_add_s8(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift,
                       const bnn_elementwise_s8_params *add, const int8_t *skip,
                       int32_t conv_first, uint32_t *scratch, int8_t *out);

#endif
