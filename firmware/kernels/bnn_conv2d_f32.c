/* Float 2-D convolution, TFLite CONV_2D semantics (NHWC input), bit-exact with
 * the optimized float conv that LCE's interpreter runs (im2col + GEMM): each
 * output starts from its bias and adds the taps in (ky, kx, ic) order with one
 * fused multiply-add each. A tap in the zero padding adds 0 * w, which changes
 * nothing, so it is the same sum as over the taps inside the image. Then ReLU,
 * then an optional fused non-overlapping max pool: the conv map never exists.
 *
 * Speed without reordering any sum: one chain of dependent FMAs is bound by
 * their latency, so BNN_CONV_GROUP conv positions are computed together (that
 * many independent chains per output channel), each over a block of output
 * channels held in registers, and every weight loaded serves all of them.
 * A group is as many whole pool windows side by side as fit (two 2x2 windows),
 * a part of one larger window, or a run along a row when there is no pooling;
 * GROUP is fixed at 8 by the eight named accumulators. A group whose input window
 * crosses the image border is first copied into `scratch` with zeros outside,
 * so the inner loop never tests bounds. Weights are HWIO (bnnkit transposes
 * TFLite's OHWI) with O and the bias zero-padded to BNN_CONV_PADDED_OC. */
#include <math.h>

#include "bnn_kernels.h"

#define GROUP BNN_CONV_GROUP

/* Input window of a group: `pos[i]` is tap (0, 0), channel 0 of position i. */
typedef struct {
    const float *pos[GROUP];
    int32_t row_stride; /* floats from one input row to the next */
} conv_window;

/* One FMA per (position, channel) for a tap: GROUP x BLOCK independent chains. */
#define CONV_TAP(BLOCK)                                                                       \
    for (o = 0; o < BLOCK; o++) {                                                             \
        a0[o] = fmaf(x0[ic], wr[o], a0[o]);                                                   \
        a1[o] = fmaf(x1[ic], wr[o], a1[o]);                                                   \
        a2[o] = fmaf(x2[ic], wr[o], a2[o]);                                                   \
        a3[o] = fmaf(x3[ic], wr[o], a3[o]);                                                   \
        a4[o] = fmaf(x4[ic], wr[o], a4[o]);                                                   \
        a5[o] = fmaf(x5[ic], wr[o], a5[o]);                                                   \
        a6[o] = fmaf(x6[ic], wr[o], a6[o]);                                                   \
        a7[o] = fmaf(x7[ic], wr[o], a7[o]);                                                   \
    }

#define DEFINE_CONV_GROUP(BLOCK)                                                              \
    static void conv_group##BLOCK(const bnn_conv2d_params *p, const conv_window *win,        \
                                  const float *w, const float *bias,                         \
                                  float result[GROUP][BNN_CONV_MAX_BLOCK])                   \
    {                                                                                         \
        /* named accumulators: locals the compiler keeps in registers */                      \
        float a0[BLOCK], a1[BLOCK], a2[BLOCK], a3[BLOCK];                                     \
        float a4[BLOCK], a5[BLOCK], a6[BLOCK], a7[BLOCK];                                     \
        const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);                               \
        const int32_t tap_floats = p->in_c * oc_stride;                                       \
        int32_t ky, kx, ic, o;                                                                \
        for (o = 0; o < BLOCK; o++)                                                           \
            a0[o] = a1[o] = a2[o] = a3[o] = a4[o] = a5[o] = a6[o] = a7[o] = bias[o];          \
        for (ky = 0; ky < p->k_h; ky++) {                                                     \
            const int32_t row = ky * win->row_stride;                                         \
            for (kx = 0; kx < p->k_w; kx++) {                                                 \
                const int32_t at = row + kx * p->in_c;                                        \
                const float *x0 = win->pos[0] + at, *x1 = win->pos[1] + at;                   \
                const float *x2 = win->pos[2] + at, *x3 = win->pos[3] + at;                   \
                const float *x4 = win->pos[4] + at, *x5 = win->pos[5] + at;                   \
                const float *x6 = win->pos[6] + at, *x7 = win->pos[7] + at;                   \
                const float *wr = w + (ky * p->k_w + kx) * tap_floats;                        \
                for (ic = 0; ic < p->in_c; ic++) {                                            \
                    CONV_TAP(BLOCK)                                                           \
                    wr += oc_stride;                                                          \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        if (p->relu)                                                                          \
            for (o = 0; o < BLOCK; o++) {                                                     \
                a0[o] = a0[o] < 0.0f ? 0.0f : a0[o];                                          \
                a1[o] = a1[o] < 0.0f ? 0.0f : a1[o];                                          \
                a2[o] = a2[o] < 0.0f ? 0.0f : a2[o];                                          \
                a3[o] = a3[o] < 0.0f ? 0.0f : a3[o];                                          \
                a4[o] = a4[o] < 0.0f ? 0.0f : a4[o];                                          \
                a5[o] = a5[o] < 0.0f ? 0.0f : a5[o];                                          \
                a6[o] = a6[o] < 0.0f ? 0.0f : a6[o];                                          \
                a7[o] = a7[o] < 0.0f ? 0.0f : a7[o];                                          \
            }                                                                                 \
        for (o = 0; o < BLOCK; o++) {                                                         \
            result[0][o] = a0[o];                                                             \
            result[1][o] = a1[o];                                                             \
            result[2][o] = a2[o];                                                             \
            result[3][o] = a3[o];                                                             \
            result[4][o] = a4[o];                                                             \
            result[5][o] = a5[o];                                                             \
            result[6][o] = a6[o];                                                             \
            result[7][o] = a7[o];                                                             \
        }                                                                                     \
    }

DEFINE_CONV_GROUP(16)
DEFINE_CONV_GROUP(8)

/* Point `win` at the input taps of conv positions (cy[i], cx[i]), i < GROUP. */
static void conv_prepare(const bnn_conv2d_params *p, const float *in, const int32_t *cy,
                         const int32_t *cx, float *scratch, conv_window *win)
{
    int32_t y_lo = cy[0] * p->stride_h - p->pad_top, x_lo = cx[0] * p->stride_w - p->pad_left;
    int32_t y_hi = y_lo, x_hi = x_lo, y, c, i;
    const float *base;
    for (i = 1; i < GROUP; i++) {
        const int32_t y0 = cy[i] * p->stride_h - p->pad_top, x0 = cx[i] * p->stride_w - p->pad_left;
        y_lo = y0 < y_lo ? y0 : y_lo;
        y_hi = y0 > y_hi ? y0 : y_hi;
        x_lo = x0 < x_lo ? x0 : x_lo;
        x_hi = x0 > x_hi ? x0 : x_hi;
    }
    y_hi += p->k_h; /* exclusive bounds of the union of the taps */
    x_hi += p->k_w;
    if (y_lo >= 0 && x_lo >= 0 && y_hi <= p->in_h && x_hi <= p->in_w) {
        base = in + (y_lo * p->in_w + x_lo) * p->in_c;
        win->row_stride = p->in_w * p->in_c;
    } else {
        const int32_t run = (x_hi - x_lo) * p->in_c;
        const int32_t left = (x_lo < 0 ? -x_lo : 0) * p->in_c; /* padding columns */
        const int32_t right = (x_hi > p->in_w ? x_hi - p->in_w : 0) * p->in_c;
        float *dst = scratch;
        for (y = y_lo; y < y_hi; y++, dst += run) {
            const int32_t copy_end = y >= 0 && y < p->in_h ? run - right : left;
            const int32_t at = (y * p->in_w + x_lo) * p->in_c; /* of dst[0] in `in` */
            for (c = 0; c < left; c++)
                dst[c] = 0.0f;
            for (; c < copy_end; c++)
                dst[c] = in[at + c];
            for (; c < run; c++)
                dst[c] = 0.0f;
        }
        base = scratch;
        win->row_stride = (x_hi - x_lo) * p->in_c;
    }
    for (i = 0; i < GROUP; i++) {
        const int32_t dy = cy[i] * p->stride_h - p->pad_top - y_lo;
        const int32_t dx = cx[i] * p->stride_w - p->pad_left - x_lo;
        win->pos[i] = base + dy * win->row_stride + dx * p->in_c;
    }
}

/* result[i][0..block) = conv outputs (bias, ReLU applied) of the group's
 * positions, for output channels oc0 .. oc0 + block. */
static void conv_outputs(const bnn_conv2d_params *p, const conv_window *win,
                         const float *weights, const float *bias, int32_t oc0, int32_t block,
                         float result[GROUP][BNN_CONV_MAX_BLOCK])
{
    if (block == 16)
        conv_group16(p, win, weights + oc0, bias + oc0, result);
    else
        conv_group8(p, win, weights + oc0, bias + oc0, result);
}

/* Pool windows per group: as many whole windows as fit, else one window in chunks. */
static int32_t windows_per_group(const bnn_conv2d_params *p)
{
    const int32_t window = p->pool_h * p->pool_w;
    return window < GROUP ? GROUP / window : 1;
}

int32_t bnn_conv2d_f32_scratch_floats(const bnn_conv2d_params *p)
{
    const int32_t span_w = windows_per_group(p) * p->pool_w; /* conv columns of a group */
    return (p->k_h + (p->pool_h - 1) * p->stride_h) * (p->k_w + (span_w - 1) * p->stride_w) *
           p->in_c;
}

void bnn_conv2d_f32(const bnn_conv2d_params *p, const float *in, const float *weights,
                    const float *bias, float *scratch, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h;
    const int32_t out_w = p->conv_w / p->pool_w;
    const int32_t window = p->pool_h * p->pool_w;
    const int32_t per_group = windows_per_group(p);
    const int32_t padded_oc = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t block = padded_oc % BNN_CONV_MAX_BLOCK == 0 ? BNN_CONV_MAX_BLOCK
                                                               : BNN_CONV_OC_BLOCK;
    float result[GROUP][BNN_CONV_MAX_BLOCK];
    int32_t cy[GROUP], cx[GROUP], dst_at[GROUP], first[GROUP];
    conv_window win;
    int32_t oy, ox, oc0, o, i, n, nw, start, slot, k;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox += nw) {
            nw = out_w - ox < per_group ? out_w - ox : per_group;
            /* the nw windows' conv positions, window by window in row-major order,
             * GROUP at a time; a short chunk repeats its last position */
            slot = 0; /* window of the chunk's next position, and its index k in it */
            k = 0;
            for (start = 0; start < nw * window; start += GROUP) {
                n = nw * window - start < GROUP ? nw * window - start : GROUP;
                for (i = 0; i < GROUP; i++) {
                    if (i < n) {
                        cy[i] = oy * p->pool_h + k / p->pool_w;
                        cx[i] = (ox + slot) * p->pool_w + k % p->pool_w;
                        dst_at[i] = (oy * out_w + ox + slot) * p->out_c;
                        first[i] = k == 0;
                        if (++k == window) {
                            k = 0;
                            slot++;
                        }
                    } else {
                        cy[i] = cy[n - 1];
                        cx[i] = cx[n - 1];
                    }
                }
                conv_prepare(p, in, cy, cx, scratch, &win);
                for (oc0 = 0; oc0 < p->out_c; oc0 += block) {
                    const int32_t nb = p->out_c - oc0 < block ? p->out_c - oc0 : block;
                    conv_outputs(p, &win, weights, bias, oc0, block, result);
                    for (i = 0; i < n; i++) {
                        float *dst = out + dst_at[i] + oc0;
                        const float *r = result[i];
                        if (first[i]) {
                            for (o = 0; o < nb; o++)
                                dst[o] = r[o];
                        } else {
                            for (o = 0; o < nb; o++)
                                dst[o] = r[o] > dst[o] ? r[o] : dst[o];
                        }
                    }
                }
            }
        }
    }
}

/* A convolution with a single output position is a matrix-vector product, and
 * TFLite computes it as one (see bnn_fc_f32.c): this gathers that position's
 * window into `row` in (ky, kx, ic) order, taps outside the input as 0, for
 * bnn_fc_f32 to finish with TFLite's order of sums. */
void bnn_conv2d_f32_window(const bnn_conv2d_params *p, const float *in, float *row)
{
    int32_t ky, kx, c;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = ky - p->pad_top;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = kx - p->pad_left;
            float *dst = row + (ky * p->k_w + kx) * p->in_c;
            const int inside = y >= 0 && y < p->in_h && x >= 0 && x < p->in_w;
            for (c = 0; c < p->in_c; c++)
                dst[c] = inside ? in[(y * p->in_w + x) * p->in_c + c] : 0.0f;
        }
    }
}
