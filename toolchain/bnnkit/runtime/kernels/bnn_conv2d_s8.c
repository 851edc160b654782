/* int8 convolution: see bnn_conv2d_s8.h. Convolutions run on the rows path:
 * each input row is copied (widened on cores with SMLAD) once into a ring of
 * padded rows, so no position gathers its patch and border positions cost
 * what inner ones do. A fully connected layer runs on the patch path: its
 * input is widened once and each group of four channels is summed with
 * SMLAD, the int8 weights widened with SXTB16 as they are read (it reads
 * each weight once). Elsewhere plain C; all give the same int32 sums. */
#include "bnn_conv2d_s8.h"

#include <string.h>

#include "bnn_requant.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define BNN_S8_DSP 1
#define bnn_sxtb16(w) ((uint32_t)__sxtb16((int32_t)(w)))
#define bnn_smlad(a, b, acc) __smlad((int32_t)(a), (int32_t)(b), (acc))
/* bytes 1 and 3 of w, sign-extended to two int16 halves */
BNN_INLINE uint32_t bnn_sxtb16_ror8(uint32_t w)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
    return r;
}
#elif defined(BNN_S8_DSP_EMULATE)
/* The DSP path on any host, for its tests: the instructions in plain C. */
#define BNN_S8_DSP 1
BNN_INLINE uint32_t bnn_sxtb16(uint32_t w)
{
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(w & 0xFFu) |
           (uint32_t)(uint16_t)(int16_t)(int8_t)((w >> 16) & 0xFFu) << 16;
}
BNN_INLINE uint32_t bnn_sxtb16_ror8(uint32_t w)
{
    return bnn_sxtb16((w >> 8) | (w << 24));
}
BNN_INLINE int32_t bnn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return acc + (int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu) +
           (int16_t)(a >> 16) * (int16_t)(b >> 16);
}
#else
#define BNN_S8_DSP 0
BNN_INLINE int32_t bnn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return acc + (int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu) +
           (int16_t)(a >> 16) * (int16_t)(b >> 16);
}
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bnnkit's int8 weights are packed little-endian"
#endif

/* Bytes copied a word at a time (unaligned loads are fine on every target
 * bnnkit builds for): a library memcpy call costs more than a row of taps. */
static void copy_taps(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        uint32_t u;
        memcpy(&u, src, 4);
        memcpy(dst, &u, 4);
    }
    for (; n > 0; n--)
        *dst++ = *src++;
}

static void fill_taps(int8_t *dst, int8_t value, int32_t n)
{
    for (; n > 0; n--)
        *dst++ = value;
}

/* The taps of conv position (cy, cx) in (ky, kx, ic) order; taps outside the
 * input read pad_value; zeros after the last tap up to a whole word. */
static void gather_patch(const bnn_conv2d_s8_params *p, const int8_t *in, int32_t cy, int32_t cx,
                         uint32_t *patch_words)
{
    int8_t *patch = (int8_t *)patch_words;
    const int32_t c = p->in_c, row = p->k_w * c, in_row = p->in_w * c;
    const int32_t y0 = cy * p->stride_h - p->pad_top, x0 = cx * p->stride_w - p->pad_left;
    const int8_t pad = (int8_t)p->pad_value;
    int32_t ky, kx, n;
    patch_words[p->patch_words - 1] = 0; /* the taps overwrite all but the zero tail */
    if (y0 >= 0 && x0 >= 0 && y0 + p->k_h <= p->in_h && x0 + p->k_w <= p->in_w) {
        const int8_t *src = in + (size_t)y0 * in_row + (size_t)x0 * c;
        for (ky = 0; ky < p->k_h; ky++, patch += row, src += in_row)
            copy_taps(patch, src, row);
        return;
    }
    for (ky = 0, n = 0; ky < p->k_h; ky++, n += row) {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= p->in_h) {
            fill_taps(patch + n, pad, row);
        } else {
            for (kx = 0; kx < p->k_w; kx++) {
                const int32_t x = x0 + kx;
                if (x < 0 || x >= p->in_w)
                    fill_taps(patch + n + kx * c, pad, c);
                else
                    copy_taps(patch + n + kx * c, in + (size_t)y * in_row + (size_t)x * c, c);
            }
        }
    }
}

/* two words from *p, then p += 2: one LDRD with writeback on the Arm cores
 * (gcc would issue two loads, or copy through the stack) */
BNN_INLINE void load_pair(const uint32_t **p, uint32_t *a, uint32_t *b)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    const uint32_t *q = *p;
    __asm__("ldrd %0, %1, [%2], #8"
            : "=&r"(*a), "=&r"(*b), "+r"(q)
            : "m"(*(const uint32_t(*)[2])q));
    *p = q;
#else
    *a = (*p)[0], *b = (*p)[1];
    *p += 2;
#endif
}

#if BNN_S8_DSP
/* patch words -> (x0, x2), (x1, x3) int16 pairs, the form SMLAD multiplies */
static void widen_patch(const uint32_t *patch, int32_t words, uint32_t *x16)
{
    for (; words > 1; words -= 2, patch += 2, x16 += 4) {
        const uint32_t a = patch[0], b = patch[1];
        x16[0] = bnn_sxtb16(a), x16[1] = bnn_sxtb16_ror8(a);
        x16[2] = bnn_sxtb16(b), x16[3] = bnn_sxtb16_ror8(b);
    }
    if (words) {
        x16[0] = bnn_sxtb16(*patch);
        x16[1] = bnn_sxtb16_ror8(*patch);
    }
}

BNN_INLINE int32_t mac4(uint32_t w, uint32_t x02, uint32_t x13, int32_t acc)
{
    acc = bnn_smlad(bnn_sxtb16(w), x02, acc);
    return bnn_smlad(bnn_sxtb16_ror8(w), x13, acc);
}

/* kept out of line: inlined into the position loop it would spill its sums */
BNN_NOINLINE static void dot_group4(const uint32_t *x16, const uint32_t *w, int32_t words, int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3];
    for (; words > 0; words--) {
        uint32_t x02, x13, w0, w1;
        load_pair(&x16, &x02, &x13);
        load_pair(&w, &w0, &w1);
        a0 = mac4(w0, x02, x13, a0);
        a1 = mac4(w1, x02, x13, a1);
        load_pair(&w, &w0, &w1);
        a2 = mac4(w0, x02, x13, a2);
        a3 = mac4(w1, x02, x13, a3);
    }
    s[0] = a0, s[1] = a1, s[2] = a2, s[3] = a3;
}

static void dot_group2(const uint32_t *x16, const uint32_t *w, int32_t words, int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1];
    for (; words > 0; words--, x16 += 2, w += 2) {
        const uint32_t x02 = x16[0], x13 = x16[1];
        a0 = mac4(w[0], x02, x13, a0);
        a1 = mac4(w[1], x02, x13, a1);
    }
    s[0] = a0, s[1] = a1;
}

static void dot_group(const uint32_t *x16, const uint32_t *w, int32_t words, int32_t g,
                      int32_t *s)
{
    int32_t j, k;
    if (g == 4) {
        dot_group4(x16, w, words, s);
        return;
    }
    if (g == 2) {
        dot_group2(x16, w, words, s);
        return;
    }
    for (j = 0; j < g; j++) {
        int32_t a = s[j];
        for (k = 0; k < words; k++)
            a = mac4(w[k * g + j], x16[2 * k], x16[2 * k + 1], a);
        s[j] = a;
    }
}
#else
static void dot_group(const int8_t *x, const uint32_t *w, int32_t words, int32_t g, int32_t *s)
{
    const int8_t *wb = (const int8_t *)w; /* little-endian: byte t of a word is tap t */
    int32_t j, k;
    for (j = 0; j < g; j++) {
        int32_t a = s[j];
        for (k = 0; k < words; k++) {
            const int8_t *wk = wb + 4 * (k * g + j), *xk = x + 4 * k;
            a += xk[0] * wk[0] + xk[1] * wk[1] + xk[2] * wk[2] + xk[3] * wk[3];
        }
        s[j] = a;
    }
}

#endif


/* out[i][c] = requantized acc[i * acc_stride + c] for n positions; channel
 * outer, so its constants stay in registers */
BNN_NOINLINE static void requantize_row(const bnn_conv2d_s8_params *p, const int32_t *acc,
                                           int32_t acc_stride, int32_t n, const int32_t *mult,
                                           const int32_t *shift, int8_t *out)
{
    const int32_t oc = p->out_c, zp = p->out_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t c, i;
    for (c = 0; c < oc; c++) {
        const int32_t m = mult[c], sh = shift[c];
        if (p->fast_requant && !p->ties_up) {
            const int32_t right = -sh, round = (int32_t)1 << (right - 1);
            for (i = 0; i < n; i++) {
                int32_t v = bnn_requantize_away_small(acc[i * acc_stride + c], m, right, round) + zp;
                v = v < lo ? lo : v;
                out[i * oc + c] = (int8_t)(v > hi ? hi : v);
            }
        } else if (p->ties_up) {
            for (i = 0; i < n; i++)
                out[i * oc + c] = bnn_requantize_s8(acc[i * acc_stride + c], m, sh, zp, lo, hi);
        } else {
            for (i = 0; i < n; i++) {
                int32_t v = bnn_requantize_away(acc[i * acc_stride + c], m, sh) + zp;
                v = v < lo ? lo : v;
                out[i * oc + c] = (int8_t)(v > hi ? hi : v);
            }
        }
    }
}

/* ---- rows path ---- */

/* The row loops on Thumb-2 M cores, scheduled by hand (gcc spills around
 * them): a step loads one input of each of two positions (x0, x1) and one
 * weight of each of two channels (w0, w1) and does the four multiply-adds;
 * two steps a turn while n >= 2, then one more if n was odd. */
#define BNN_S8_MAC4(op)                                                                          \
    op " %[a0], %[w0], %[x0], %[a0]\n\t" op " %[a1], %[w1], %[x0], %[a1]\n\t" op                \
       " %[b0], %[w0], %[x1], %[b0]\n\t" op " %[b1], %[w1], %[x1], %[b1]\n\t"
#define BNN_S8_ROW_LOOP(step)                                                                     \
    "subs %[n], %[n], #2\n\tblt 2f\n1:\n\t" step step                                             \
    "subs %[n], %[n], #2\n\tbge 1b\n2:\n\tadds %[n], %[n], #2\n\tbeq 3f\n\t" step "3:\n"
#define BNN_S8_ROW_OPERANDS                                                                      \
    [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [xa] "+r"(xa), [xb] "+r"(xb),     \
        [w] "+r"(w), [n] "+r"(n), [x0] "=&r"(x0), [x1] "=&r"(x1), [w0] "=&r"(w0), [w1] "=&r"(w1)

/* Ring row of padded row y (input row y - pad_top): the zero point, the
 * input row's first columns up to the ring's width, the zero point. */
BNN_INLINE void fill_row16(const bnn_conv2d_s8_params *p, const int8_t *in, int32_t y, int16_t *dst)
{
    const int32_t len = p->ring_len, left = p->pad_left * p->in_c;
    const int16_t pad = (int16_t)p->pad_value;
    int32_t i = 0;
    if (y >= 0 && y < p->in_h) {
        const int8_t *src = in + (size_t)y * p->in_w * p->in_c - left;
        const int32_t end = left + (p->in_w * p->in_c < len - left ? p->in_w * p->in_c : len - left);
        for (; i < left; i++)
            dst[i] = pad;
        for (; i < end; i++)
            dst[i] = src[i];
    }
    for (; i < len; i++)
        dst[i] = pad;
}

BNN_INLINE void fill_row8(const bnn_conv2d_s8_params *p, const int8_t *in, int32_t y, int8_t *dst)
{
    const int32_t len = p->ring_len, left = p->pad_left * p->in_c;
    const int8_t pad = (int8_t)p->pad_value;
    int32_t i = 0;
    if (y >= 0 && y < p->in_h) {
        const int32_t n = p->in_w * p->in_c < len - left ? p->in_w * p->in_c : len - left;
        fill_taps(dst, pad, left);
        copy_taps(dst + left, in + (size_t)y * p->in_w * p->in_c, n);
        i = left + n;
    }
    fill_taps(dst + i, pad, len - i);
}

#if !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP) /* the Arm cores load in assembly */
/* an int16 pair at any even byte offset */
BNN_INLINE uint32_t load_s16x2(const int16_t *x)
{
    uint32_t v;
    memcpy(&v, x, 4);
    return v;
}
#endif

/* Sums of two positions (xs and xs + step along the ring rows) for every
 * channel pair: sums[4 * pair] = {a0, a1, b0, b1}, from the bias. Each
 * weight word and each input pair feeds two SMLADs. Out of line, so the
 * sums stay in registers. */
BNN_NOINLINE static void dot_rows_wide(const int16_t *xs, const int32_t *row_off, int32_t step,
                                          const uint32_t *w, int32_t k_h, int32_t pairs,
                                          int32_t channel_pairs, const int32_t *bias,
                                          int32_t *sums)
{
    int32_t cp, ky, n;
    for (cp = 0; cp < channel_pairs; cp++, sums += 4, bias += 2) {
        int32_t a0 = bias[0], a1 = bias[1], b0 = bias[0], b1 = bias[1];
        for (ky = 0; ky < k_h; ky++) {
            const int16_t *xa = xs + row_off[ky], *xb = xa + step;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
            /* the loop below, scheduled by hand: gcc spills around it */
            uint32_t x0, x1, w0, w1;
            n = pairs;
            __asm__(BNN_S8_ROW_LOOP("ldr %[x0], [%[xa]], #4\n\t"
                                    "ldr %[x1], [%[xb]], #4\n\t"
                                    "ldrd %[w0], %[w1], [%[w]], #8\n\t" BNN_S8_MAC4("smlad"))
                    : BNN_S8_ROW_OPERANDS
                    :
                    : "cc", "memory");
#else
            for (n = pairs; n >= 2; n -= 2, xa += 4, xb += 4) {
                uint32_t w0, w1, w2, w3;
                const uint32_t xa0 = load_s16x2(xa), xb0 = load_s16x2(xb);
                const uint32_t xa1 = load_s16x2(xa + 2), xb1 = load_s16x2(xb + 2);
                load_pair(&w, &w0, &w1);
                load_pair(&w, &w2, &w3);
                a0 = bnn_smlad(w2, xa1, bnn_smlad(w0, xa0, a0));
                a1 = bnn_smlad(w3, xa1, bnn_smlad(w1, xa0, a1));
                b0 = bnn_smlad(w2, xb1, bnn_smlad(w0, xb0, b0));
                b1 = bnn_smlad(w3, xb1, bnn_smlad(w1, xb0, b1));
            }
            if (n) {
                uint32_t w0, w1;
                const uint32_t xa0 = load_s16x2(xa), xb0 = load_s16x2(xb);
                load_pair(&w, &w0, &w1);
                a0 = bnn_smlad(w0, xa0, a0), a1 = bnn_smlad(w1, xa0, a1);
                b0 = bnn_smlad(w0, xb0, b0), b1 = bnn_smlad(w1, xb0, b1);
            }
#endif
        }
        sums[0] = a0, sums[1] = a1, sums[2] = b0, sums[3] = b1;
    }
}

/* the same on int8 rows and weights [ky][tap][2 channels]: one
 * multiply-add per instruction */
BNN_NOINLINE static void dot_rows_s8(const int8_t *xs, const int32_t *row_off, int32_t step,
                                        const int8_t *w, int32_t k_h, int32_t taps,
                                        int32_t channel_pairs, const int32_t *bias, int32_t *sums)
{
    int32_t cp, ky;
    for (cp = 0; cp < channel_pairs; cp++, sums += 4, bias += 2) {
        int32_t a0 = bias[0], a1 = bias[1], b0 = bias[0], b1 = bias[1];
        for (ky = 0; ky < k_h; ky++) {
            const int8_t *xa = xs + row_off[ky], *xb = xa + step;
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M' && defined(__ARM_ARCH_ISA_THUMB) && \
    __ARM_ARCH_ISA_THUMB == 2
            /* Thumb-2 M cores (the Cortex-M3): the loop below by hand, two taps
             * a turn; gcc spills inside it */
            int32_t x0, x1, w0, w1, n = taps;
            __asm__(BNN_S8_ROW_LOOP("ldrsb %[x0], [%[xa]], #1\n\t"
                                    "ldrsb %[x1], [%[xb]], #1\n\t"
                                    "ldrsb %[w0], [%[w]], #1\n\t"
                                    "ldrsb %[w1], [%[w]], #1\n\t" BNN_S8_MAC4("mla"))
                    : BNN_S8_ROW_OPERANDS
                    :
                    : "cc", "memory");
#else
            int32_t t;
            for (t = 0; t < taps; t++, w += 2) {
                const int32_t va = xa[t], vb = xb[t], w0 = w[0], w1 = w[1];
                a0 += va * w0, a1 += va * w1, b0 += vb * w0, b1 += vb * w1;
            }
#endif
        }
        sums[0] = a0, sums[1] = a1, sums[2] = b0, sums[3] = b1;
    }
}

/* the pooled sums of conv column cx (sums[4 * pair + lane], lanes 0-1 or
 * 2-3): set on the first row and column of each pool window, the max of
 * both after */
BNN_INLINE void pool_merge(int32_t *cell, int32_t first, const int32_t *sums, int32_t oc)
{
    int32_t c;
    if (first) {
        for (c = 0; c < oc; c += 2, sums += 4)
            cell[c] = sums[0], cell[c + 1] = sums[1];
    } else {
        for (c = 0; c < oc; c += 2, sums += 4) {
            cell[c] = sums[0] > cell[c] ? sums[0] : cell[c];
            cell[c + 1] = sums[1] > cell[c + 1] ? sums[1] : cell[c + 1];
        }
    }
}

BNN_INLINE void conv_rows(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift,
                      const bnn_elementwise_s8_params *add, const int8_t *skip,
                      int32_t conv_first, uint32_t *scratch, int8_t *out)
{
    const int32_t oc = p->out_c, oc4 = (oc + 3) / 4 * 4, wide = p->wide;
    const int32_t rows = p->ring_rows, len = p->ring_len, k_h = p->k_h;
    const int32_t out_h = p->conv_h / p->pool_h, out_w = p->conv_w / p->pool_w;
    const int32_t cols = out_w * p->pool_w, step = p->stride_w * p->in_c;
    const int32_t taps = p->k_w * p->in_c, pairs = (taps + 1) / 2;
    int32_t *row_off = (int32_t *)(scratch + (rows * len * (1 + wide) + 3) / 4);
    int32_t *pooled = row_off + k_h;
    int32_t *sums = pooled + out_w * oc4; /* 4 per channel pair */
    const int32_t cps = (oc + 1) / 2;
    int16_t *ring16 = (int16_t *)scratch;
    int8_t *ring8 = (int8_t *)scratch;
    /* a one-row kernel that widens the rows goes last row first, so that its
     * output may be written over its input (bnn_conv2d_s8.h) */
    const int backward = k_h == 1 && p->pool_h == 1 && out_w * oc > p->in_w * p->in_c;
    int32_t next = 0, t, oy, dy, cx, ky;
    for (t = 0; t < out_h; t++) {
        int8_t *o;
        oy = backward ? out_h - 1 - t : t;
        o = out + (size_t)oy * out_w * oc;
        for (dy = 0; dy < p->pool_h; dy++) {
            const int32_t y0 = (oy * p->pool_h + dy) * p->stride_h;
            if (backward)
                next = y0;
            for (; next < y0 + k_h; next++) { /* rows enter the ring once */
                if (wide)
                    fill_row16(p, in, next - p->pad_top, ring16 + (next % rows) * len);
                else
                    fill_row8(p, in, next - p->pad_top, ring8 + (next % rows) * len);
            }
            for (ky = 0; ky < k_h; ky++)
                row_off[ky] = ((y0 + ky) % rows) * len;
            for (cx = 0; cx < cols; cx += 2) {
                const int32_t two = cx + 1 < cols, x0 = cx * step, b_step = two ? step : 0;
                if (wide)
                    dot_rows_wide(ring16 + x0, row_off, b_step, weights, k_h, pairs, cps, bias, sums);
                else
                    dot_rows_s8(ring8 + x0, row_off, b_step, (const int8_t *)weights, k_h, taps,
                                cps, bias, sums);
                pool_merge(pooled + cx / p->pool_w * oc4, dy == 0 && cx % p->pool_w == 0, sums, oc);
                if (two)
                    pool_merge(pooled + (cx + 1) / p->pool_w * oc4,
                               dy == 0 && (cx + 1) % p->pool_w == 0, sums + 2, oc);
            }
        }
        if (add) {  /* a fused residual ADD: a few positions requantized, then the ADD */
            int8_t *const part = (int8_t *)(sums + 4 * cps);
            int32_t x0;
            for (x0 = 0; x0 < out_w; x0 += BNN_S8_ADD_POSITIONS) {
                const int32_t n = out_w - x0 < BNN_S8_ADD_POSITIONS ? out_w - x0
                                                                    : BNN_S8_ADD_POSITIONS;
                const int32_t first = (oy * out_w + x0) * oc;
                requantize_row(p, pooled + x0 * oc4, oc4, n, mult, shift, part);
                bnn_add_s8_span(add, conv_first ? part : skip + first,
                                conv_first ? skip + first : part, first, n * oc, out + first);
            }
        } else {
            requantize_row(p, pooled, oc4, out_w, mult, shift, o);
        }
    }
}

/* ---- patch path ---- */

static void conv_patch(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift,
                       uint32_t *scratch, int8_t *out)
{
    const int32_t words = p->patch_words, oc = p->out_c;
    int32_t *acc = (int32_t *)(scratch + 3 * words);
    const uint32_t *wg = weights;
    int32_t c;
#if BNN_S8_DSP
    uint32_t *x16 = scratch + words;
#else
    const int8_t *x16 = (const int8_t *)scratch;
#endif
    gather_patch(p, in, 0, 0, scratch);
#if BNN_S8_DSP
    widen_patch(scratch, words, x16);
#endif
    for (c = 0; c < oc; c += 4, wg += (size_t)words * 4) {
        /* the bias is zero-padded to whole groups of four */
        const int32_t g = oc - c < 4 ? oc - c : 4;
        acc[c] = bias[c], acc[c + 1] = bias[c + 1], acc[c + 2] = bias[c + 2], acc[c + 3] = bias[c + 3];
        dot_group(x16, wg, words, g, acc + c);
    }
    requantize_row(p, acc, 0, 1, mult, shift, out);
}

void bnn_conv2d_s8(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                   const int32_t *bias, const int32_t *mult, const int32_t *shift,
                   uint32_t *scratch, int8_t *out)
{
    if (p->ring_rows)
        conv_rows(p, in, weights, bias, mult, shift, NULL, NULL, 0, scratch, out);
    else
        conv_patch(p, in, weights, bias, mult, shift, scratch, out);
}

void bnn_conv2d_add_s8(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift,
                       const bnn_elementwise_s8_params *add, const int8_t *skip,
                       int32_t conv_first, uint32_t *scratch, int8_t *out)
{
    conv_rows(p, in, weights, bias, mult, shift, add, skip, conv_first, scratch, out);
}
