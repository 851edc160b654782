/* LceBconv2d: binary 2-D convolution by XOR + popcount, LCE's arithmetic.
 *
 * The accumulator is LCE's: the popcount of input ^ weights over all k_h*k_w
 * taps, a tap outside the image reading bits 0 (+1), as LCE's im2col pads.
 * Float output (LCE's output transform and zero-padding correction):
 *   x = clamp(2 * accum, clamp_min, clamp_max)       (clamps in this domain)
 *   v = (float)x * multiplier[c] + bias[c]           (multiplier = -m, bias = b + K*m)
 *   zero padding only: v += multiplier[c] * (float)corr, corr = sum over the
 *   taps LCE's correction removes of (in_c - 2 * popcount(w_tap)). Which taps
 *   those are depends on the position alone, so bnnkit tabulates corr per
 *   distinct set of taps (corr) and the set of each position (corr_at).
 * int8 output: the same v with the output scale and zero point folded into
 * multiplier and bias, rounded half away from zero and saturated (LCE's
 * OutputTransform<int8_t> on x86).
 * Bit output: bit c = accum > threshold[c].
 * A fused residual ADD (float output): out = act(residual + v), one rounding
 * and the ADD's clamp, as the ADD it replaces (IEEE addition commutes).
 *
 * Speed: the taps of one output position are gathered once into `patch`,
 * packed back to back (tap t holds bits [t*in_c, (t+1)*in_c)), the layout
 * bnnkit gives each output channel's weights. A 16-channel input then fills
 * whole words, and each channel costs one inlined popcount run over
 * BNN_WORDS(k_h*k_w*in_c) words. */
#include <float.h>

#include "bnn_popcount.h"

/* Append the low n_bits (1..32) of v (higher bits 0) to the patch being
 * written at dst: `word` holds the `fill` bits not yet stored. */
#define PUT_BITS(v, n_bits)                                                     \
    do {                                                                        \
        const uint32_t v_ = (v);                                                \
        word |= v_ << fill;                                                     \
        fill += (n_bits);                                                       \
        if (fill >= 32) {                                                       \
            *dst++ = word;                                                      \
            fill -= 32;                                                         \
            /* the bits of v that did not fit (none when fill is back to 0) */ \
            word = fill ? v_ >> ((n_bits) - fill) : 0u;                         \
        }                                                                       \
    } while (0)

/* Gather the taps of conv position (cy, cx) into `patch` (patch_words words,
 * zero past the taps); 1 if any tap lies outside the input (then read as
 * bits 0). */
static int gather_patch(const bnn_bconv2d_params *p, const uint32_t *in, int32_t cy, int32_t cx,
                        uint32_t *patch)
{
    const int32_t n_words = BNN_WORDS(p->in_c), tail_bits = p->in_c - 32 * (n_words - 1);
    const uint32_t tail_mask = tail_bits == 32 ? 0xFFFFFFFFu : (1u << tail_bits) - 1u;
    const int32_t y0 = cy * p->stride_h - p->pad_top, x0 = cx * p->stride_w - p->pad_left;
    uint32_t *dst = patch, word = 0u;
    int32_t ky, kx, i, fill = 0, outside = 0;
    if (tail_bits == 32) { /* whole words per tap (in_c a multiple of 32): copies */
        for (ky = 0; ky < p->k_h; ky++) {
            const int32_t y = y0 + ky * p->dilation_h;
            const int row_inside = y >= 0 && y < p->in_h;
            const uint32_t *row = in + (row_inside ? y : 0) * p->in_w * n_words;
            for (kx = 0; kx < p->k_w; kx++) {
                const int32_t x = x0 + kx * p->dilation_w;
                const int inside = row_inside && x >= 0 && x < p->in_w;
                const uint32_t *src = row + (inside ? x : 0) * n_words;
                outside |= !inside;
                for (i = 0; i < n_words; i++)
                    *dst++ = inside ? src[i] : 0u;
            }
        }
    } else if (n_words == 1 && y0 >= 0 && y0 + (p->k_h - 1) * p->dilation_h < p->in_h &&
               x0 >= 0 && x0 + (p->k_w - 1) * p->dilation_w < p->in_w && p->in_c == 16) {
        /* 16 channels (ResNets' first stage), the window inside the input: two
         * taps to a word, the second's bits in the upper half. The sizes are
         * locals: the patch's stores may alias p's fields and would reload them. */
        const int32_t k_h = p->k_h, k_w = p->k_w, dil_h = p->dilation_h, dil_w = p->dilation_w,
                      row = p->in_w * dil_h;
        const uint32_t *src_row = in + y0 * p->in_w + x0;
        uint32_t low = 0u;
        int half = 0;
        for (ky = 0; ky < k_h; ky++, src_row += row) {
            const uint32_t *src = src_row;
            for (kx = 0; kx < k_w; kx++, src += dil_w) {
                const uint32_t v = *src & 0xFFFFu;
                if (half)
                    *dst++ = low | v << 16;
                else
                    low = v;
                half = !half;
            }
        }
        if (half)
            *dst++ = low;
    } else if (n_words == 1 && y0 >= 0 && y0 + (p->k_h - 1) * p->dilation_h < p->in_h &&
               x0 >= 0 && x0 + (p->k_w - 1) * p->dilation_w < p->in_w) {
        /* fewer than 32 channels, the window inside the input: no bounds tests */
        for (ky = 0; ky < p->k_h; ky++) {
            const uint32_t *src = in + (y0 + ky * p->dilation_h) * p->in_w + x0;
            for (kx = 0; kx < p->k_w; kx++, src += p->dilation_w)
                PUT_BITS(*src & tail_mask, tail_bits);
        }
    } else {
        for (ky = 0; ky < p->k_h; ky++) {
            const int32_t y = y0 + ky * p->dilation_h;
            const int row_inside = y >= 0 && y < p->in_h;
            const uint32_t *row = row_inside ? in + y * p->in_w * n_words : in;
            for (kx = 0; kx < p->k_w; kx++) {
                const int32_t x = x0 + kx * p->dilation_w;
                if (row_inside && x >= 0 && x < p->in_w) {
                    const uint32_t *src = row + x * n_words;
                    for (i = 0; i < n_words - 1; i++)
                        PUT_BITS(src[i], 32);
                    PUT_BITS(src[i] & tail_mask, tail_bits);
                } else {
                    outside = 1;
                    for (i = 0; i < n_words - 1; i++)
                        PUT_BITS(0u, 32);
                    PUT_BITS(0u, tail_bits);
                }
            }
        }
    }
    if (fill)
        *dst++ = word;
    while (dst != patch + p->patch_words) /* up to a whole chunk */
        *dst++ = 0u;
    return outside;
}

/* counts[c] = the accumulator of every output channel c at the gathered
 * patch. The patch is chunk_words (p->chunk_words: 3 on 32-bit cores, or the
 * whole patch of one or two words; 4 on arm64) words at a time, and each
 * channel's weights for one chunk lie side by side (weights[(t * out_c + c) *
 * chunk_words + k]), so that the weights stream in the order the loops read
 * them. Every core can count any layout (count_portable); each core has a
 * fast form for its own. */
BNN_INLINE void count_chunks(const bnn_bconv2d_params *p, const uint32_t *patch,
                             const uint32_t *weights, int32_t *counts, int32_t chunk)
{
    const int32_t chunks = p->patch_words / chunk, out_c = p->out_c;
    int32_t t, c;
    for (c = 0; c < out_c; c++)
        counts[c] = 0;
    for (t = 0; t < chunks; t++) {
        const uint32_t *w = weights + chunk * t * out_c;
        for (c = 0; c < out_c; c++, w += chunk)
            counts[c] += bnn_popcount_xor(patch + chunk * t, w, chunk);
    }
}

static void count_portable(const bnn_bconv2d_params *p, const uint32_t *patch,
                           const uint32_t *weights, int32_t *counts)
{
    if (p->chunk_words == 3) /* the 32-bit cores' layout: a constant the compiler unrolls */
        count_chunks(p, patch, weights, counts, 3);
    else
        count_chunks(p, patch, weights, counts, p->chunk_words);
}

#if defined(BNN_SWAR)
/* Three words at a time held in registers, the channels the inner loop: a
 * channel costs no loop of its own. `bytes` is scratch of out_c words. */
/* Three words of one channel's weights (C allows reading the uint32_t array
 * through a struct of uint32_t members). */
typedef struct {
    uint32_t w0, w1, w2;
} word3;

/* the byte counts of *w ^ (p0, p1, p2); w moves on to the next channel (the
 * struct copy loads the three words with one LDM on Arm) */
#define TRIPLE_BYTES(x0, x1, x2)                                                  \
    (v = *w++, x0 = v.w0 ^ p0, x1 = v.w1 ^ p1, x2 = v.w2 ^ p2,                  \
     BNN_NIBBLE_COUNTS(x0, m1, m2), BNN_NIBBLE_COUNTS(x1, m1, m2),               \
     BNN_NIBBLE_COUNTS(x2, m1, m2), x0 += x1 + x2, (x0 & m4) + ((x0 >> 4) & m4))

BNN_NOINLINE static void count_triples_swar(const bnn_bconv2d_params *p, const uint32_t *patch,
                                            const uint32_t *weights, uint32_t *bytes,
                                            int32_t *counts)
{
    const int32_t triples = p->patch_words / 3, out_c = p->out_c;
    int32_t t = 0, c;
    /* SWAR byte counts add up in bytes[c]: at most 24 per triple, so ten
     * triples fit a byte before they are summed into counts[c]. The first
     * triple of a chunk stores, the others add: nothing is zeroed first. */
    const uint32_t m1 = bnn_in_register(0x55555555u), m2 = bnn_in_register(0x33333333u),
                   m4 = bnn_in_register(0x0F0F0F0Fu);
    while (t < triples) {
        const int32_t chunk_start = t, chunk_end = triples - t > 10 ? t + 10 : triples;
        for (; t < chunk_end; t++) {
            const uint32_t p0 = patch[3 * t], p1 = patch[3 * t + 1], p2 = patch[3 * t + 2];
            const word3 *w = (const word3 *)(weights + 3 * t * out_c);
            uint32_t *b = bytes, *const b_end = bytes + out_c, x0, x1, x2;
            word3 v;
            if (t == chunk_start)
                do
                    *b++ = TRIPLE_BYTES(x0, x1, x2);
                while (b != b_end);
            else
                do
                    *b++ += TRIPLE_BYTES(x0, x1, x2);
                while (b != b_end);
        }
        for (c = 0; c < out_c; c++)
            counts[c] = (chunk_start ? counts[c] : 0) + bnn_sum_bytes(bytes[c]);
    }
}

/* A patch of one triple (65 to 96 bits): each count straight from its bytes. */
static void count_one_triple_swar(const bnn_bconv2d_params *p, const uint32_t *patch,
                                  const uint32_t *weights, int32_t *counts)
{
    const uint32_t m1 = bnn_in_register(0x55555555u), m2 = bnn_in_register(0x33333333u),
                   m4 = bnn_in_register(0x0F0F0F0Fu), p0 = patch[0], p1 = patch[1],
                   p2 = patch[2];
    const word3 *w = (const word3 *)weights;
    int32_t *n = counts, *const n_end = counts + p->out_c;
    uint32_t x0, x1, x2;
    word3 v;
    do
        *n++ = bnn_sum_bytes(TRIPLE_BYTES(x0, x1, x2));
    while (n != n_end);
}
#undef TRIPLE_BYTES

/* A patch of one or two words (one chunk, no padding word): each channel's
 * count straight from its nibble and byte counts. */
static void count_short_swar(const bnn_bconv2d_params *p, const uint32_t *patch,
                             const uint32_t *w, int32_t *counts)
{
    const uint32_t m1 = bnn_in_register(0x55555555u), m2 = bnn_in_register(0x33333333u),
                   m4 = bnn_in_register(0x0F0F0F0Fu), p0 = patch[0];
    int32_t *n = counts, *const n_end = counts + p->out_c;
    uint32_t x0, x1;
    if (p->patch_words == 2) {
        const uint32_t p1 = patch[1];
        do {
            x0 = w[0] ^ p0;
            x1 = w[1] ^ p1;
            w += 2;
            BNN_NIBBLE_COUNTS(x0, m1, m2);
            BNN_NIBBLE_COUNTS(x1, m1, m2);
            x0 += x1;
            *n++ = bnn_sum_bytes((x0 & m4) + ((x0 >> 4) & m4));
        } while (n != n_end);
    } else {
        do {
            x0 = *w++ ^ p0;
            BNN_NIBBLE_COUNTS(x0, m1, m2);
            *n++ = bnn_sum_bytes((x0 & m4) + ((x0 >> 4) & m4));
        } while (n != n_end);
    }
}
#endif

#if BNN_POPCOUNT_NEON
/* arm64: eight (then four) channels per pass over the patch's 128-bit
 * chunks, EOR + CNT + UADALP per chunk and channel, accumulators in
 * registers (LCE's aarch64 kernel does the same). A 16-bit lane gains at most
 * 16 per chunk and the final pairwise sums add four lanes: a pass covers at
 * most 1023 chunks (130,944 bits) before its lanes are widened. */
#define CHUNKS_PER_PASS 1023
#define CNT(x, w) vcntq_u8(veorq_u8(x, vld1q_u8((const uint8_t *)(w))))
/* four channels' accumulators a..d take chunk v against their weights at w */
#define CNT_ACC4(a, b, c, d, v, w)                                                            \
    (a = vpadalq_u8(a, CNT(v, w)), b = vpadalq_u8(b, CNT(v, (w) + 4)),                      \
     c = vpadalq_u8(c, CNT(v, (w) + 8)), d = vpadalq_u8(d, CNT(v, (w) + 12)))

/* channels c..c+3 of four accumulators -> four 32-bit counts */
BNN_INLINE uint32x4_t sum_four(uint16x8_t a0, uint16x8_t a1, uint16x8_t a2, uint16x8_t a3)
{
    return vpaddlq_u16(vpaddq_u16(vpaddq_u16(a0, a1), vpaddq_u16(a2, a3)));
}

/* the counts of channels c..c+7 (c..c+3 when `four`) over chunks
 * [0, n_chunks) of the patch: w points at chunk 0 of channel c, stride words
 * from one chunk to the next; the first chunk starts the accumulators */
BNN_INLINE void count_pass(const uint8_t *x, const uint32_t *w, int32_t stride,
                           int32_t n_chunks, int four, uint32x4_t *lo, uint32x4_t *hi)
{
    uint8x16_t v = vld1q_u8(x);
    uint16x8_t a0 = vpaddlq_u8(CNT(v, w)), a1 = vpaddlq_u8(CNT(v, w + 4)),
               a2 = vpaddlq_u8(CNT(v, w + 8)), a3 = vpaddlq_u8(CNT(v, w + 12)), a4 = a0, a5 = a0,
               a6 = a0, a7 = a0;
    if (four) {
        while (--n_chunks) {
            w += stride;
            x += 16;
            v = vld1q_u8(x);
            CNT_ACC4(a0, a1, a2, a3, v, w);
        }
        *lo = vaddq_u32(*lo, sum_four(a0, a1, a2, a3));
        return;
    }
    a4 = vpaddlq_u8(CNT(v, w + 16));
    a5 = vpaddlq_u8(CNT(v, w + 20));
    a6 = vpaddlq_u8(CNT(v, w + 24));
    a7 = vpaddlq_u8(CNT(v, w + 28));
    while (--n_chunks) {
        w += stride;
        x += 16;
        v = vld1q_u8(x);
        CNT_ACC4(a0, a1, a2, a3, v, w);
        CNT_ACC4(a4, a5, a6, a7, v, w + 16);
    }
    *lo = vaddq_u32(*lo, sum_four(a0, a1, a2, a3));
    *hi = vaddq_u32(*hi, sum_four(a4, a5, a6, a7));
}

static void count_chunks_neon(const bnn_bconv2d_params *p, const uint32_t *patch,
                              const uint32_t *weights, int32_t *counts)
{
    const int32_t chunks = p->patch_words / 4, out_c = p->out_c, stride = 4 * out_c;
    const uint8_t *x = (const uint8_t *)patch;
    int32_t c = 0, t, n;
    for (; c + 4 <= out_c; c += c + 8 <= out_c ? 8 : 4) {
        const int four = c + 8 > out_c;
        uint32x4_t lo = vdupq_n_u32(0), hi = lo;
        for (t = 0; t < chunks; t += n) {
            n = chunks - t > CHUNKS_PER_PASS ? CHUNKS_PER_PASS : chunks - t;
            count_pass(x + 16 * t, weights + t * stride + 4 * c, stride, n, four, &lo, &hi);
        }
        vst1q_s32(counts + c, vreinterpretq_s32_u32(lo));
        if (!four)
            vst1q_s32(counts + c + 4, vreinterpretq_s32_u32(hi));
    }
    for (; c < out_c; c++) { /* the last one to three channels */
        const uint32_t *w = weights + c * 4;
        int32_t total = 0;
        for (t = 0; t < chunks; t++, w += stride)
            total += bnn_popcount_xor(patch + 4 * t, w, 4);
        counts[c] = total;
    }
}
#undef CNT_ACC4
#undef CNT
#endif

static void count_channels(const bnn_bconv2d_params *p, const uint32_t *patch,
                           const uint32_t *weights, uint32_t *bytes, int32_t *counts)
{
#if defined(BNN_SWAR)
    if (p->chunk_words == 3) {
        if (p->patch_words == 3)
            count_one_triple_swar(p, patch, weights, counts);
        else
            count_triples_swar(p, patch, weights, bytes, counts);
        return;
    }
    if (p->patch_words <= 2 && p->chunk_words == p->patch_words) {
        count_short_swar(p, patch, weights, counts);
        return;
    }
#elif BNN_POPCOUNT_NEON
    if (p->chunk_words == 4) {
        count_chunks_neon(p, patch, weights, counts);
        return;
    }
#endif
    (void)bytes;
    count_portable(p, patch, weights, counts);
}

/* LCE's output transform: the clamp on 2 * accum, then multiplier and bias in
 * float, two roundings (no fused multiply-add, as LCE's x86 build) */
static float output_transform(const bnn_bconv2d_params *p, int32_t count, float multiplier,
                              float bias)
{
    int32_t x = 2 * count;
    float v;
    if (x < p->clamp_min)
        x = p->clamp_min;
    if (x > p->clamp_max)
        x = p->clamp_max;
    v = (float)x * multiplier;
    return v + bias;
}

/* The output transform with LCE's zero-padding correction where the
 * position has one (corr_set, else NULL) */
BNN_INLINE float corrected_output(const bnn_bconv2d_params *p, int32_t count, float multiplier,
                                  float bias, const int32_t *corr_set, int32_t oc)
{
    float v = output_transform(p, count, multiplier, bias);
    if (corr_set) {
        const float c = multiplier * (float)corr_set[oc];
        v = v + c;
    }
    return v;
}

/* 2 * accum lies in [0, 2K]: a clamp outside that range changes nothing */
static int clamps_nothing(const bnn_bconv2d_params *p)
{
    return p->clamp_min <= 0 && p->clamp_max / 2 >= p->k_h * p->k_w * p->in_c;
}

/* One position's outputs with the fused residual ADD: o[c] = act(r[c] + v),
 * r[c] read before o[c] is written (they may be the same memory). The ADD's
 * clamp is lo > v ? lo : v, then hi < v ? hi : v, so -0.0 and NaN pass, as
 * bnn_elementwise_f32's. */
BNN_INLINE float residual_sum(float r, float v, float lo, float hi)
{
    v = r + v;
    v = lo > v ? lo : v;
    return hi < v ? hi : v;
}

static void add_residual(const bnn_bconv2d_params *p, const int32_t *counts,
                         const float *multiplier, const float *bias, const int32_t *corr_set,
                         int plain, const float *r, float *o)
{
    const int32_t act = p->residual_act;
    const float lo = act == BNN_RESIDUAL_NONE ? -FLT_MAX
                     : act == BNN_RESIDUAL_RELU_N1_TO_1 ? -1.0f : 0.0f;
    const float hi = act == BNN_RESIDUAL_RELU6 ? 6.0f
                     : act == BNN_RESIDUAL_RELU_N1_TO_1 ? 1.0f : FLT_MAX;
    int32_t oc;
    if (!corr_set && plain) {  /* the common case: no correction, no clamp on 2 * accum */
        for (oc = 0; oc < p->out_c; oc++)
            o[oc] = residual_sum(r[oc], (float)(2 * counts[oc]) * multiplier[oc] + bias[oc],
                                 lo, hi);
        return;
    }
    for (oc = 0; oc < p->out_c; oc++)
        o[oc] = residual_sum(r[oc], corrected_output(p, counts[oc], multiplier[oc], bias[oc],
                                                     corr_set, oc), lo, hi);
}

void bnn_bconv2d_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                     const float *multiplier, const float *bias, const uint16_t *corr_at,
                     const int32_t *corr, uint32_t *scratch, float *out)
{
    uint32_t *const patch = scratch, *const bytes = scratch + p->patch_words;
    int32_t *const counts = (int32_t *)(bytes + p->out_c);
    const int plain = clamps_nothing(p);
    int32_t oy, ox, oc, py, px;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            float *o = out + (oy * p->out_w + ox) * p->out_c;
            /* a fused max pool: the window's conv outputs, max taken as they come */
            for (py = 0; py < p->pool_h; py++) {
                for (px = 0; px < p->pool_w; px++) {
                    const int32_t cy = oy * p->pool_h + py, cx = ox * p->pool_w + px;
                    const int outside = gather_patch(p, in, cy, cx, patch);
                    const int32_t set = outside && corr_at ? corr_at[cy * p->conv_w + cx] : 0;
                    const int32_t *corr_set = set ? corr + (set - 1) * p->out_c : NULL;
                    count_channels(p, patch, weights, bytes, counts);
                    if (!corr_set && py == 0 && px == 0 && plain) {
                        /* the common case in one tight loop: the same two roundings */
                        for (oc = 0; oc < p->out_c; oc++)
                            o[oc] = (float)(2 * counts[oc]) * multiplier[oc] + bias[oc];
                        continue;
                    }
                    for (oc = 0; oc < p->out_c; oc++) {
                        const float v = corrected_output(p, counts[oc], multiplier[oc],
                                                         bias[oc], corr_set, oc);
                        if ((py == 0 && px == 0) || v > o[oc])
                            o[oc] = v;
                    }
                }
            }
        }
    }
}

/* bnn_bconv2d_f32 and the residual ADD after it, a function of its own so
 * that the loop without one keeps its registers */
void bnn_bconv2d_add_f32(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                         const float *multiplier, const float *bias, const uint16_t *corr_at,
                         const int32_t *corr, const float *residual, uint32_t *scratch, float *out)
{
    uint32_t *const patch = scratch, *const bytes = scratch + p->patch_words;
    int32_t *const counts = (int32_t *)(bytes + p->out_c);
    const int plain = clamps_nothing(p);
    int32_t oy, ox;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            const int32_t at = (oy * p->out_w + ox) * p->out_c;
            const int outside = gather_patch(p, in, oy, ox, patch);
            const int32_t set = outside && corr_at ? corr_at[oy * p->conv_w + ox] : 0;
            count_channels(p, patch, weights, bytes, counts);
            add_residual(p, counts, multiplier, bias, set ? corr + (set - 1) * p->out_c : NULL,
                         plain, residual + at, out + at);
        }
    }
}

/* LCE's int8 rounding on x86: TfLiteRound (half away from zero) and a
 * truncating conversion that gives INT32_MIN for NaN and values out of range,
 * then saturation to int8. Exact without libm: v - (float)t is exact. */
static int8_t round_saturate_s8(float v)
{
    int32_t q = INT32_MIN;
    if (v >= -2147483648.0f && v < 2147483648.0f) {
        const float frac = v - (float)(int32_t)v;
        q = (int32_t)v;
        if (frac >= 0.5f)
            q++;
        else if (frac <= -0.5f)
            q--;
    }
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

void bnn_bconv2d_s8(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                    const float *multiplier, const float *bias, uint32_t *scratch, int8_t *out)
{
    uint32_t *const patch = scratch, *const bytes = scratch + p->patch_words;
    int32_t *const counts = (int32_t *)(bytes + p->out_c);
    int32_t oy, ox, oc, py, px;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            int8_t *o = out + (oy * p->out_w + ox) * p->out_c;
            /* a fused max pool: rounding is monotone, so the largest rounded value */
            for (py = 0; py < p->pool_h; py++) {
                for (px = 0; px < p->pool_w; px++) {
                    gather_patch(p, in, oy * p->pool_h + py, ox * p->pool_w + px, patch);
                    count_channels(p, patch, weights, bytes, counts);
                    for (oc = 0; oc < p->out_c; oc++) {
                        const int8_t q = round_saturate_s8(
                            output_transform(p, counts[oc], multiplier[oc], bias[oc]));
                        if ((py == 0 && px == 0) || q > o[oc])
                            o[oc] = q;
                    }
                }
            }
        }
    }
}

void bnn_bconv2d_bits(const bnn_bconv2d_params *p, const uint32_t *in, const uint32_t *weights,
                      const int32_t *threshold, uint32_t *scratch, uint32_t *out)
{
    const int32_t out_words = BNN_WORDS(p->out_c);
    uint32_t *const patch = scratch, *const bytes = scratch + p->patch_words;
    int32_t *const counts = (int32_t *)(bytes + p->out_c);
    int32_t oy, ox, py, px, k, j;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            uint32_t *o = out + (oy * p->out_w + ox) * out_words;
            /* a fused binary max pool: AND of the window's bits (bit 1 = -1) */
            for (py = 0; py < p->pool_h; py++) {
                for (px = 0; px < p->pool_w; px++) {
                    gather_patch(p, in, oy * p->pool_h + py, ox * p->pool_w + px, patch);
                    count_channels(p, patch, weights, bytes, counts);
                    for (k = 0; k < out_words; k++) {
                        /* the word's last channel first: each shifts the earlier
                         * ones up, and channel 32k + j ends at bit j */
                        const int32_t width = k < out_words - 1 ? 32 : p->out_c - 32 * k;
                        uint32_t bits = 0u;
                        for (j = 32 * k + width - 1; j >= 32 * k; j--)
                            /* thresholds lie in [-1, K] (bnnkit clamps them): no overflow */
                            bits = (bits << 1) | ((uint32_t)(threshold[j] - counts[j]) >> 31);
                        o[k] = (py == 0 && px == 0) ? bits : o[k] & bits;
                    }
                }
            }
        }
    }
}
