/* int8 convolution: see bnn_conv2d_s8.h. Each conv position's patch is
 * gathered once; on cores with the DSP extension it is widened to pairs of
 * int16 once and every group of four channels is summed with SMLAD, two
 * multiply-adds per instruction, the weights widened with SXTB16 as they are
 * read. Elsewhere plain C; both give the same int32 sums. */
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
#endif

#if defined(__GNUC__)
#define BNN_S8_NOINLINE __attribute__((noinline))
#else
#define BNN_S8_NOINLINE
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

#if BNN_S8_DSP
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
BNN_S8_NOINLINE static void dot_group4(const uint32_t *x16, const uint32_t *w, int32_t words, int32_t *s)
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

BNN_S8_NOINLINE static void dot_wide4(const uint32_t *x16, const uint32_t *w, int32_t words,
                                      int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3];
    for (; words > 0; words--) {
        uint32_t x02, x13, w0, w1;
        load_pair(&x16, &x02, &x13);
        load_pair(&w, &w0, &w1);
        a0 = bnn_smlad(w1, x13, bnn_smlad(w0, x02, a0));
        load_pair(&w, &w0, &w1);
        a1 = bnn_smlad(w1, x13, bnn_smlad(w0, x02, a1));
        load_pair(&w, &w0, &w1);
        a2 = bnn_smlad(w1, x13, bnn_smlad(w0, x02, a2));
        load_pair(&w, &w0, &w1);
        a3 = bnn_smlad(w1, x13, bnn_smlad(w0, x02, a3));
    }
    s[0] = a0, s[1] = a1, s[2] = a2, s[3] = a3;
}

BNN_S8_NOINLINE static void dot_wide2(const uint32_t *x16, const uint32_t *w, int32_t words,
                                      int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1];
    for (; words > 0; words--) {
        uint32_t x02, x13, w0, w1;
        load_pair(&x16, &x02, &x13);
        load_pair(&w, &w0, &w1);
        a0 = bnn_smlad(w1, x13, bnn_smlad(w0, x02, a0));
        load_pair(&w, &w0, &w1);
        a1 = bnn_smlad(w1, x13, bnn_smlad(w0, x02, a1));
    }
    s[0] = a0, s[1] = a1;
}

static void dot_wide(const uint32_t *x16, const uint32_t *w, int32_t words, int32_t g,
                     int32_t *s)
{
    int32_t j, k;
    if (g == 4) {
        dot_wide4(x16, w, words, s);
        return;
    }
    if (g == 2) {
        dot_wide2(x16, w, words, s);
        return;
    }
    for (j = 0; j < g; j++) {
        int32_t a = s[j];
        for (k = 0; k < words; k++) {
            const uint32_t *wk = w + 2 * (k * g + j);
            a = bnn_smlad(wk[1], x16[2 * k + 1], bnn_smlad(wk[0], x16[2 * k], a));
        }
        s[j] = a;
    }
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

BNN_INLINE int32_t low16(uint32_t v)
{
    return (int16_t)(v & 0xFFFFu);
}

BNN_INLINE int32_t high16(uint32_t v)
{
    return (int16_t)(v >> 16);
}

static void dot_wide(const int8_t *x, const uint32_t *w, int32_t words, int32_t g, int32_t *s)
{
    int32_t j, k;
    for (j = 0; j < g; j++) {
        int32_t a = s[j];
        for (k = 0; k < words; k++) {
            const uint32_t *wk = w + 2 * (k * g + j);
            const int8_t *xk = x + 4 * k;
            a += xk[0] * low16(wk[0]) + xk[2] * high16(wk[0]) + xk[1] * low16(wk[1]) +
                 xk[3] * high16(wk[1]);
        }
        s[j] = a;
    }
}
#endif

void bnn_conv2d_s8(const bnn_conv2d_s8_params *p, const int8_t *in, const uint32_t *weights,
                   const int32_t *bias, const int32_t *mult, const int32_t *shift,
                   uint32_t *scratch, int8_t *out)
{
    const int32_t words = p->patch_words, oc = p->out_c;
    const int32_t out_h = p->conv_h / p->pool_h, out_w = p->conv_w / p->pool_w;
    const int32_t window = p->pool_h * p->pool_w;
    int32_t *acc = (int32_t *)(scratch + 3 * words);
    int32_t oy, ox, k, c;
#if BNN_S8_DSP
    uint32_t *x16 = scratch + words;
#else
    const int8_t *x16 = (const int8_t *)scratch;
#endif
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            int8_t *o = out + ((size_t)oy * out_w + (size_t)ox) * oc;
            for (k = 0; k < window; k++) { /* each conv position of the pool window */
                const uint32_t *wg = weights;
                gather_patch(p, in, oy * p->pool_h + k / p->pool_w, ox * p->pool_w + k % p->pool_w,
                             scratch);
#if BNN_S8_DSP
                widen_patch(scratch, words, x16);
#endif
                for (c = 0; c < oc; c += 4, wg += (size_t)words * 4 * (1 + p->wide)) {
                    /* the bias is zero-padded to whole groups of four */
                    int32_t s[4], j;
                    const int32_t g = oc - c < 4 ? oc - c : 4;
                    s[0] = bias[c], s[1] = bias[c + 1], s[2] = bias[c + 2], s[3] = bias[c + 3];
                    if (p->wide)
                        dot_wide(x16, wg, words, g, s);
                    else
                        dot_group(x16, wg, words, g, s);
                    if (k == 0) {
                        acc[c] = s[0], acc[c + 1] = s[1], acc[c + 2] = s[2], acc[c + 3] = s[3];
                    } else {
                        for (j = 0; j < 4; j++)
                            acc[c + j] = s[j] > acc[c + j] ? s[j] : acc[c + j];
                    }
                }
            }
            for (c = 0; c < oc; c++)
                o[c] = bnn_requantize_s8(acc[c], mult[c], shift[c], p->out_zero_point,
                                         p->act_min, p->act_max);
        }
    }
}
