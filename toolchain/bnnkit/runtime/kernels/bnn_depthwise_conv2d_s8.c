/* int8 depthwise convolution (semantics in bnn_depthwise_conv2d_s8.h).
 *
 * Channels are innermost, four output channels at a time in named int32
 * accumulators (registers). The taps inside the input are found once per
 * output position ([ky0, ky1) x [kx0, kx1)), so the multiply-add loop has no
 * bounds test and reads nothing outside `in`. At a position whose window
 * overhangs the input, the taps outside it add in_zero_point * w first (a
 * separate loop over the filter alone; nothing when the zero point is 0): the
 * same int32 sum as a zero-point padded input. int32 sums do not depend on
 * their order, so the result is TFLite's sum exactly. */
#include "bnn_depthwise_conv2d_s8.h"

#include <string.h>

#include "bnn_requant.h"

/* one output position: its window's origin and the taps inside the input */
typedef struct {
    int32_t y0, x0, ky0, ky1, kx0, kx1;
    int32_t ky_end;   /* ky1, or ky0 when no column is inside: no tap to read */
    int32_t overhang; /* some taps lie outside and the zero point is not 0 */
} dw_window;

/* requantize output channel o's sum: ties up below up_channels, else away */
static int8_t requant(const bnn_depthwise_conv2d_s8_params *p, int32_t acc, int32_t o,
                      const int32_t *mult, const int32_t *shift)
{
    int32_t v = o < p->up_channels ? bnn_requantize(acc, mult[o], shift[o])
                                   : bnn_requantize_away(acc, mult[o], shift[o]);
    v += p->out_zero_point;
    v = v < p->act_min ? p->act_min : v;
    return (int8_t)(v > p->act_max ? p->act_max : v);
}

/* requant of output channels o..o+3 into dst[o..o+3], the rounding chosen once
 * for the four when they share it (inlined: no call per value) */
BNN_INLINE void requant4(const bnn_depthwise_conv2d_s8_params *p, const int32_t *acc,
                         int32_t o, const int32_t *mult, const int32_t *shift, int8_t *dst)
{
    const int32_t zp = p->out_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t j, v;
    if (p->fast_requant && o >= p->up_channels) {
        for (j = 0; j < 4; j++) {
            const int32_t right = -shift[o + j];
            v = bnn_requantize_away_small(acc[j], mult[o + j], right, (int32_t)1 << (right - 1))
                + zp;
            v = v < lo ? lo : v;
            dst[o + j] = (int8_t)(v > hi ? hi : v);
        }
    } else if (o >= p->up_channels) {
        for (j = 0; j < 4; j++) {
            v = bnn_requantize_away(acc[j], mult[o + j], shift[o + j]) + zp;
            v = v < lo ? lo : v;
            dst[o + j] = (int8_t)(v > hi ? hi : v);
        }
    } else if (o + 4 <= p->up_channels) {
        for (j = 0; j < 4; j++)
            dst[o + j] = bnn_requantize_s8(acc[j], mult[o + j], shift[o + j], zp, lo, hi);
    } else {
        for (j = 0; j < 4; j++)
            dst[o + j] = requant(p, acc[j], o + j, mult, shift);
    }
}

/* The sums of output channels o..o+3, which read input channels i0, i0 + d1,
 * i0 + d2 and i0 + d3 (d = 1, 2, 3 with a depth multiplier of 1: constants
 * once inlined). */
BNN_INLINE void block4(const bnn_depthwise_conv2d_s8_params *p, const dw_window *win,
                       const int8_t *in, const int8_t *weights, const int32_t *bias, int32_t o,
                       int32_t i0, int32_t d1, int32_t d2, int32_t d3, int32_t *acc)
{
    const int32_t oc = p->in_c * p->depth_multiplier;
    const int32_t w_row = p->k_w * oc, in_row = p->in_w * p->in_c;
    const int32_t x_step = p->dilation_w * p->in_c;
    int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
    int32_t ky, kx;
    if (win->overhang) {
        const int32_t zp = p->in_zero_point;
        for (ky = 0; ky < p->k_h; ky++) {
            const int32_t row_in = ky >= win->ky0 && ky < win->ky1;
            for (kx = 0; kx < p->k_w; kx++) {
                const int8_t *w = weights + ky * w_row + kx * oc + o;
                if (row_in && kx >= win->kx0 && kx < win->kx1)
                    continue;
                a0 += zp * w[0];
                a1 += zp * w[1];
                a2 += zp * w[2];
                a3 += zp * w[3];
            }
        }
    }
    for (ky = win->ky0; ky < win->ky_end; ky++) {
        const int8_t *x = in + (win->y0 + ky * p->dilation_h) * in_row
                          + (win->x0 + win->kx0 * p->dilation_w) * p->in_c + i0;
        const int8_t *w = weights + ky * w_row + win->kx0 * oc + o;
        for (kx = win->kx0; kx < win->kx1; kx++) {
            a0 += x[0] * w[0];
            a1 += x[d1] * w[1];
            a2 += x[d2] * w[2];
            a3 += x[d3] * w[3];
            x += x_step;
            w += oc;
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* 3x3, depth multiplier 1, dilation 1 over padded rows: output channels
 * o..o+3 with the nine taps unrolled, no bounds test. x: the window's origin
 * at channel o (rows in_row bytes apart); w: the filter at channel o. */
BNN_INLINE void block4_3x3(const int8_t *x, const int8_t *w, int32_t in_row, int32_t in_c,
                           int32_t oc, const int32_t *bias, int32_t *acc)
{
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    int32_t ky;
    for (ky = 0; ky < 3; ky++) { /* gcc and clang unroll this at -O2 */
        const int8_t *r0 = x, *r1 = x + in_c, *r2 = x + 2 * in_c;
        const int8_t *w0 = w, *w1 = w + oc, *w2 = w + 2 * oc;
        a0 += r0[0] * w0[0] + r1[0] * w1[0] + r2[0] * w2[0];
        a1 += r0[1] * w0[1] + r1[1] * w1[1] + r2[1] * w2[1];
        a2 += r0[2] * w0[2] + r1[2] * w1[2] + r2[2] * w2[2];
        a3 += r0[3] * w0[3] + r1[3] * w1[3] + r2[3] * w2[3];
        x += in_row;
        w += 3 * oc;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The sum of one output channel o, reading input channel i. */
static int32_t single(const bnn_depthwise_conv2d_s8_params *p, const dw_window *win,
                      const int8_t *in, const int8_t *weights, const int32_t *bias, int32_t o,
                      int32_t i)
{
    const int32_t oc = p->in_c * p->depth_multiplier;
    const int32_t w_row = p->k_w * oc, in_row = p->in_w * p->in_c;
    const int32_t x_step = p->dilation_w * p->in_c;
    int32_t a = bias[o];
    int32_t ky, kx;
    if (win->overhang) {
        for (ky = 0; ky < p->k_h; ky++) {
            const int32_t row_in = ky >= win->ky0 && ky < win->ky1;
            for (kx = 0; kx < p->k_w; kx++) {
                if (!(row_in && kx >= win->kx0 && kx < win->kx1))
                    a += p->in_zero_point * weights[ky * w_row + kx * oc + o];
            }
        }
    }
    for (ky = win->ky0; ky < win->ky_end; ky++) {
        const int8_t *x = in + (win->y0 + ky * p->dilation_h) * in_row
                          + (win->x0 + win->kx0 * p->dilation_w) * p->in_c + i;
        const int8_t *w = weights + ky * w_row + win->kx0 * oc + o;
        for (kx = win->kx0; kx < win->kx1; kx++) {
            a += x[0] * w[0];
            x += x_step;
            w += oc;
        }
    }
    return a;
}

/* Row ky of the padded window rows for output row oy: input row
 * oy * stride_h - pad_top + ky, columns -pad_left onwards, the padding (and a
 * row outside the input) filled with the zero point. */
static void padded_row(const bnn_depthwise_conv2d_s8_params *p, const int8_t *in, int32_t y,
                       int8_t *row)
{
    const int32_t c = p->in_c, cols = bnn_dw_padded_row_bytes(p) / c;
    const int8_t zp = (int8_t)p->in_zero_point;
    int32_t first = p->pad_left, last = p->pad_left + p->in_w, i; /* inside: [first, last) */
    if (last > cols)
        last = cols;
    if (first > cols)
        first = cols;
    if (y < 0 || y >= p->in_h)
        first = last = cols;
    for (i = 0; i < first * c; i++)
        row[i] = zp;
    if (last > first)
        memcpy(row + first * c, in + ((int32_t)y * p->in_w + first - p->pad_left) * c,
               (size_t)((last - first) * c));
    for (i = (last > first ? last : first) * c; i < cols * c; i++)
        row[i] = zp;
}

static void padded_rows(const bnn_depthwise_conv2d_s8_params *p, const int8_t *in,
                        const int8_t *weights, const int32_t *bias, const int32_t *mult,
                        const int32_t *shift, int8_t *rows, int8_t *out)
{
    const int32_t c = p->in_c, row_bytes = bnn_dw_padded_row_bytes(p);
    const int32_t blocked = c / 4 * 4, kept = p->stride_h < 3 ? 3 - p->stride_h : 0;
    int32_t oy, ox, o, ky, acc[4];
    for (oy = 0; oy < p->out_h; oy++) {
        /* each input row is read once, before any output row is written over
         * it (so the output may be the input itself): the rows the last output
         * row shares with this one move up, the new ones are copied in */
        const int32_t keep = oy ? kept : 0;
        if (keep)
            memmove(rows, rows + (3 - keep) * row_bytes, (size_t)(keep * row_bytes));
        for (ky = keep; ky < 3; ky++)
            padded_row(p, in, oy * p->stride_h - p->pad_top + ky, rows + ky * row_bytes);
        for (ox = 0; ox < p->out_w; ox++) {
            const int8_t *x = rows + ox * p->stride_w * c;
            int8_t *dst = out + (oy * p->out_w + ox) * c;
            for (o = 0; o < blocked; o += 4) {
                block4_3x3(x + o, weights + o, row_bytes, c, c, bias + o, acc);
                requant4(p, acc, o, mult, shift, dst);
            }
            for (; o < c; o++) { /* the last c % 4 channels */
                int32_t a = bias[o], kx;
                for (ky = 0; ky < 3; ky++)
                    for (kx = 0; kx < 3; kx++)
                        a += x[ky * row_bytes + kx * c + o] * weights[(ky * 3 + kx) * c + o];
                dst[o] = requant(p, a, o, mult, shift);
            }
        }
    }
}

void bnn_depthwise_conv2d_s8(const bnn_depthwise_conv2d_s8_params *p, const int8_t *in,
                             const int8_t *weights, const int32_t *bias, const int32_t *mult,
                             const int32_t *shift, uint32_t *scratch, int8_t *out)
{
    const int32_t dm = p->depth_multiplier;
    const int32_t oc = p->in_c * dm;
    const int32_t blocked = oc / 4 * 4;
    int32_t oy, ox, o, acc[4];
    dw_window win;
    if (p->padded_rows) {
        padded_rows(p, in, weights, bias, mult, shift, (int8_t *)scratch, out);
        return;
    }
    for (oy = 0; oy < p->out_h; oy++) {
        win.y0 = oy * p->stride_h - p->pad_top;
        bnn_inside_taps(win.y0, p->dilation_h, p->k_h, p->in_h, &win.ky0, &win.ky1);
        for (ox = 0; ox < p->out_w; ox++) {
            int8_t *dst = out + (oy * p->out_w + ox) * oc;
            win.x0 = ox * p->stride_w - p->pad_left;
            bnn_inside_taps(win.x0, p->dilation_w, p->k_w, p->in_w, &win.kx0, &win.kx1);
            win.ky_end = win.kx0 < win.kx1 ? win.ky1 : win.ky0;
            /* taps outside the input add zero_point * w: nothing when it is 0 */
            win.overhang = p->in_zero_point != 0
                           && (win.ky1 - win.ky0 < p->k_h || win.kx1 - win.kx0 < p->k_w);
            for (o = 0; o < blocked; o += 4) {
                if (dm == 1)
                    block4(p, &win, in, weights, bias, o, o, 1, 2, 3, acc);
                else
                    block4(p, &win, in, weights, bias, o, o / dm, (o + 1) / dm - o / dm,
                           (o + 2) / dm - o / dm, (o + 3) / dm - o / dm, acc);
                requant4(p, acc, o, mult, shift, dst);
            }
            for (; o < oc; o++)
                dst[o] = requant(p, single(p, &win, in, weights, bias, o, o / dm), o, mult,
                                 shift);
        }
    }
}
