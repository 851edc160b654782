/* bnnkit runtime kernels: plain C99, no allocation, no libc beyond <math.h>.
 *
 * Bit-packed tensors follow LCE's convention: bit 1 = -1, bit 0 = +1
 * (sign(0) = +1); bit i of 32-bit word k holds channel 32k+i; the last word's
 * unused bits are 0 in activations and weights alike, so XOR never counts them.
 * Float tensors are NHWC without the batch dimension.
 */
#ifndef BNN_KERNELS_H
#define BNN_KERNELS_H

/* @bnnkit-library-names@ (a generated library renames its kernels here) */

#include <stddef.h>
#include <stdint.h>

/* Every float rounding where TFLite has it whatever the compiler flags: no
 * contraction of a * b + c into a fused multiply-add (fmaf is written out where
 * LCE fuses). gcc ignores the standard pragma and takes its own. Only
 * -ffast-math and clang's -ffp-contract=fast override these. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif

#define BNN_WORDS(n) (((n) + 31) / 32)

/* The library's layout, which the generator chose and writes into a generated
 * library's copy of this header (above): never inferred from the compiler, so a
 * library built for any other core, with any compiler, reads its constants as
 * they were stored. BNN_SMALL_CORE 1: float conv weights in channel blocks for
 * the Cortex-M loops (one scalar FPU, no SIMD: register-blocked); 0: HWIO for
 * the loops SIMD compilers vectorize. The sums are the same either way, in the
 * same order: only which outputs are computed together differs. The kernels'
 * own tests build either form with -DBNN_SMALL_CORE=0/1. */
#ifndef BNN_SMALL_CORE
#define BNN_SMALL_CORE 0
#endif

/* A helper inlined into a kernel's inner loop even where -O2 would call it;
 * a loop kept out of its caller, whose registers would crowd it. */
#if defined(__GNUC__)
#define BNN_INLINE static inline __attribute__((always_inline))
#define BNN_NOINLINE __attribute__((noinline))
#else
#define BNN_INLINE static inline
#define BNN_NOINLINE
#endif

/* [*k0, *k1): the taps k < k_n of a window whose coordinate base + k * dil lies
 * in [0, size) (the depthwise convolutions' border handling). Called once per
 * output row or position, not per tap: a plain static inline. */
static inline void bnn_inside_taps(int32_t base, int32_t dil, int32_t k_n, int32_t size,
                                   int32_t *k0, int32_t *k1)
{
    const int32_t rest = size - base;
    int32_t a = base >= 0 ? 0 : (-base + dil - 1) / dil;
    int32_t b = rest <= 0 ? 0 : (rest + dil - 1) / dil;
    b = b < k_n ? b : k_n;
    *k0 = a;
    *k1 = b > a ? b : a;
}

/* Number of set bits in a[i] ^ b[i] over n words (bnn_popcount.h, per target). */
int32_t bnn_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n_words);

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_c, k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t conv_h, conv_w; /* convolution output size, before pooling */
    int32_t pool_h, pool_w; /* 1x1: no pooling; else non-overlapping max pool */
    int32_t relu;
} bnn_conv2d_params;

/* Float convolution + bias, optional ReLU, optional fused max pool, summed as
 * bias + fused multiply-adds in (ky, kx, ic) order. Weights are
 * [k_h][k_w][in_c][BNN_CONV_PADDED_OC(out_c)] (HWIO), zero-padded; on
 * BNN_SMALL_CORE they are in channel blocks, [ceil(out_c / B)][k_h][k_w][in_c][B]
 * (B = 6 when out_c is a multiple of 6 but not of 4 and the pool window is 1x1
 * or 4 positions, else 4), so one block's taps are one contiguous run. Bias
 * [BNN_CONV_PADDED_OC(out_c)], zero-padded. `scratch` holds
 * bnn_conv2d_f32_scratch_floats(p) floats; it is only touched when taps fall
 * in the padding, so it may be NULL for VALID padding. */
#define BNN_CONV_OC_BLOCK 8
#define BNN_CONV_MAX_BLOCK 16 /* output channels per register block when they divide */
#define BNN_CONV_GROUP 8      /* conv positions computed together */
#define BNN_CONV_PADDED_OC(n) (((n) + BNN_CONV_OC_BLOCK - 1) / BNN_CONV_OC_BLOCK * BNN_CONV_OC_BLOCK)
int32_t bnn_conv2d_f32_scratch_floats(const bnn_conv2d_params *p);
/* The window of a convolution's only output position, (ky, kx, ic) order, 0
 * outside the input: k_h * k_w * in_c floats for bnn_fc_f32. */
void bnn_conv2d_f32_window(const bnn_conv2d_params *p, const float *in, float *row);
void bnn_conv2d_f32(const bnn_conv2d_params *p, const float *in, const float *weights,
                    const float *bias, float *scratch, float *out);

typedef struct {
    int32_t in_h, in_w, channels;
    int32_t filter_h, filter_w, stride_h, stride_w;
    int32_t pad_top, pad_left, out_h, out_w;
    int32_t relu;
} bnn_maxpool_params;

void bnn_maxpool_f32(const bnn_maxpool_params *p, const float *in, float *out);

/* out[j] = sum_i in[i] * w[j][i] + bias[j] (then ReLU if relu); w is TFLite's
 * [n_out][n_in], bias may be NULL; summation order as LCE's interpreter
 * (see bnn_fc_f32.c). */
void bnn_fc_f32(const float *in, int32_t n_in, const float *weights, const float *bias,
                int32_t n_out, int32_t relu, float *out);

/* out[i] = in[i] * c[i % channels] (mul) or + c[i % channels] (add). */
void bnn_mul_const_f32(const float *in, int32_t n, const float *c, int32_t channels,
                       int32_t relu, float *out);
void bnn_add_const_f32(const float *in, int32_t n, const float *c, int32_t channels,
                       int32_t relu, float *out);
/* out[i] = a[i] * b[i] (is_mul) or a[i] + b[i]. */
void bnn_binary_op_f32(const float *a, const float *b, int32_t n, int32_t is_mul,
                       int32_t relu, float *out);

/* Sign-pack: bit = (x < 0) with x = in*mul + add (either may be NULL), per
 * channel; outer = number of pixels, each packed into BNN_WORDS(channels) words. */
void bnn_quantize_f32(const float *in, int32_t outer, int32_t channels, const float *mul,
                      const float *add, uint32_t *out);

/* Bits back to +-1.0f. */
void bnn_dequantize(const uint32_t *in, int32_t outer, int32_t channels, float *out);

/* 1-bit dense, float output: sum_i a_i * (+-scale[j]) + bias[j] (then ReLU if
 * relu) in the float order of LCE's FULLY_CONNECTED (bnn_binary_dense.c);
 * bias may be NULL. */
void bnn_binary_dense_f32(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                          const float *scale, const float *bias, int32_t n_out, int32_t relu,
                          float *out);

/* 1-bit dense, bit output: bit j = (popcount > threshold[j]) ^ flip_j
 * (flip may be NULL: no output flipped), except for the n_exact outputs listed
 * in exact_at (ascending j): exact_at[3e..3e+2] = {j, pc_lo, pc_hi} and
 * exact_val[4e..4e+3] = {c_j, b_j, mul_j, add_j}; when pc_lo <= popcount <=
 * pc_hi, bit j = (v < 0) for LCE's float value v = (row_j * mul_j) + add_j,
 * row_j being bnn_binary_dense_f32's output j (scale c_j, bias b_j, relu) and
 * the product clamped to [-FLT_MAX, FLT_MAX] as TFLite's MUL does; no flip.
 * exact_at and exact_val may be NULL when n_exact is 0. */
void bnn_binary_dense_bits(const uint32_t *in, int32_t n_in, const uint32_t *weights,
                           const int32_t *threshold, const uint32_t *flip, int32_t n_out,
                           int32_t relu, int32_t n_exact, const int32_t *exact_at,
                           const float *exact_val, uint32_t *out);

/* out = softmax(in * beta) with the float arithmetic of LCE's interpreter
 * (Eigen exp on 8-wide blocks, glibc expf on the rest; see bnn_softmax_f32.c). */
void bnn_softmax_f32(const float *in, int32_t n, float beta, float *out);

/* LceBconv2d: binary convolution over bit-packed NHWC input, with LCE's
 * arithmetic: accum = popcount of input ^ weights over all taps, outside taps
 * read as +1 (bits 0); one_padding = 0 (zero padding) removes their
 * contribution from a float output with LCE's correction (see bnn_bconv2d.c).
 * Weights: per output channel, the k_h*k_w taps' in_c bits back to back
 * (OHWI without the per-tap word padding) in patch_words words (zero-padded
 * to a multiple of chunk_words), interleaved chunk_words words at a time:
 * word k of chunk t of channel c at weights[(t * out_c + c) * chunk_words + k].
 * `scratch` holds patch_words + 2 * out_c words. */
typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_c, k_h, k_w;
    int32_t stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left, out_h, out_w;
    int32_t one_padding;
    int32_t clamp_min, clamp_max; /* fused activation, on 2 * accum (LCE's domain) */
    int32_t pool_h, pool_w; /* 1x1: none; else a fused non-overlapping max pool, and
                               out_h x out_w is the pooled size */
    int32_t conv_h, conv_w; /* the convolution's own output size, before any pool */
    int32_t patch_words;    /* BNN_WORDS(k_h * k_w * in_c), rounded up to whole chunks */
    int32_t chunk_words;    /* the weights' interleave: 3 (32-bit cores' registers; 1 or 2
                               for a patch that short) or 4 (arm64's 128-bit NEON
                               registers); any core reads any */
    int32_t residual_act;   /* the fused residual ADD's activation (BNN_RESIDUAL_*) */
} bnn_bconv2d_params;

/* A float ADD fused into the binary conv before it (residual blocks): its
 * fused activation, a clamp as bnn_elementwise_f32 applies it */
#define BNN_RESIDUAL_NONE 0         /* [-FLT_MAX, FLT_MAX] */
#define BNN_RESIDUAL_RELU 1         /* [0, FLT_MAX] */
#define BNN_RESIDUAL_RELU_N1_TO_1 2 /* [-1, 1] */
#define BNN_RESIDUAL_RELU6 3        /* [0, 6] */

/* out = (float)clamp(2 * accum) * multiplier[c] + bias[c], with LCE's
 * multiplier = -m and bias = b + K*m; where corr_at (conv_h x conv_w, or NULL)
 * holds s > 0, LCE's zero-padding correction multiplier[c] * corr[(s-1)*out_c + c]
 * is added. */
void bnn_bconv2d_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                     const float *multiplier, const float *bias, const uint16_t *corr_at,
                     const int32_t *corr, uint32_t *scratch, float *out);
/* bnn_bconv2d_f32 (no fused pool) and a residual ADD after it: out[i] =
 * act(residual[i] + that value), act p->residual_act, residual of out's shape;
 * it may be `out` itself (each element is read before it is written). */
void bnn_bconv2d_add_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                         const float *multiplier, const float *bias, const uint16_t *corr_at,
                         const int32_t *corr, const float *residual, uint32_t *scratch,
                         float *out);
/* int8 output (LCE's int8 output transform): q = saturate(round((float)clamp(2 *
 * accum) * multiplier[c] + bias[c])), the output scale and zero point folded
 * into multiplier and bias, round half away from zero, a value out of int32's
 * range (or NaN) taken as INT32_MIN as x86's conversion gives it; one padding
 * or none (LCE's optimized kernels refuse zero padding with int8 output). */
void bnn_bconv2d_s8(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                    const float *multiplier, const float *bias, uint32_t *scratch, int8_t *out);
/* bit c = accum > threshold[c] (LCE's bitpacked output; one or no padding);
 * thresholds lie in [-1, k_h*k_w*in_c]. */
void bnn_bconv2d_bits(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                      const int32_t *threshold, uint32_t *scratch, uint32_t *out);

typedef struct {
    int32_t in_h, in_w, channels;
    int32_t filter_h, filter_w, stride_h, stride_w;
    int32_t pad_top, pad_left, out_h, out_w;
} bnn_bmaxpool_params;

/* LceBMaxPool2d: max of +-1 values = AND of their bits (bit 1 = -1). */
void bnn_bmaxpool(const bnn_bmaxpool_params *p, const uint32_t *in, uint32_t *out);

/* Threshold encoding of raw pixels (paper 001): channel k is 1 where
 * lower[k] <= x < upper[k]. As floats (NHWC, 0.0/1.0) or as bit-planes: plane k
 * holds one bit per pixel, BNN_WORDS(n_pixels) words per plane. */
void bnn_threshold_encode_f32(const float *in, int32_t n_pixels, const float *lower,
                              const float *upper, int32_t channels, float *out);
void bnn_threshold_encode_planes(const float *in, int32_t n_pixels, const float *lower,
                                 const float *upper, int32_t channels, uint32_t *planes);

/* Disjoint intervals (at most one channel set per pixel): the encoding as one
 * byte per pixel, the index of its interval or `channels` for none, over the
 * conv's padded input (map_h x map_w bytes from row -pad_top, column
 * -pad_left; outside the image: `channels`). `out` holds that many bytes. */
void bnn_threshold_encode_index(const float *in, int32_t in_h, int32_t in_w,
                                const float *lower, const float *upper, int32_t channels,
                                int32_t pad_top, int32_t pad_left, int32_t map_h,
                                int32_t map_w, uint32_t *out);

/* bnn_conv2d_f32 over a 0/1 input held as bit-planes: a set bit adds the weight
 * (x * w == w for x = 1), a clear bit adds nothing; same order, same result. */
void bnn_conv2d_planes_f32(const bnn_conv2d_params *p, const uint32_t *planes,
                           const float *weights, const float *bias, float *out);

/* bnn_conv2d_f32 over an interval-index map (bnn_threshold_encode_index): each
 * tap adds the weight row of its pixel's interval, [k_h][k_w][in_c + 1][padded
 * out_c] with row in_c all zeros (no interval, or padding). */
void bnn_conv2d_index_f32(const bnn_conv2d_params *p, const uint32_t *index, int32_t map_w,
                          const float *weights, const float *bias, float *out);

#endif
