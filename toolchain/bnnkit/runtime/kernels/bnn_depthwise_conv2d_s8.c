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

void bnn_depthwise_conv2d_s8(const bnn_depthwise_conv2d_s8_params *p, const int8_t *in,
                             const int8_t *weights, const int32_t *bias, const int32_t *mult,
                             const int32_t *shift, int8_t *out)
{
    const int32_t dm = p->depth_multiplier;
    const int32_t oc = p->in_c * dm;
    const int32_t blocked = oc / 4 * 4;
    int32_t oy, ox, o, j, acc[4];
    dw_window win;
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
                for (j = 0; j < 4; j++)
                    dst[o + j] = requant(p, acc[j], o + j, mult, shift);
            }
            for (; o < oc; o++)
                dst[o] = requant(p, single(p, &win, in, weights, bias, o, o / dm), o, mult,
                                 shift);
        }
    }
}
