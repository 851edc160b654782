/* int8 average pooling, TFLite AVERAGE_POOL_2D semantics (ops/average_pool_s8.py):
 * each output is the int32 sum of the window's values inside the input,
 * divided by their number n rounding half away from zero
 * ((acc + n/2) / n for acc > 0, else (acc - n/2) / n, C's truncating
 * division), clamped to [act_min, act_max] (the fused activation; input and
 * output share one quantization, so nothing is rescaled). Only integer
 * operations. The lowering accepts no window without an input position in it
 * (VALID windows fit the input; SAME padding is less than the filter), so n
 * is never 0. */
#include "bnn_avgpool_s8.h"

#define BNN_AVGPOOL_S8_BLOCK 16 /* channels summed together, in order in memory */

void bnn_avgpool_s8(const bnn_maxpool_params *p, int32_t act_min, int32_t act_max,
                    const int8_t *in, int8_t *out)
{
    int32_t acc[BNN_AVGPOOL_S8_BLOCK];
    int32_t oy, ox, c0, y, x, j;
    for (oy = 0; oy < p->out_h; oy++) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t y_lo = y0 > 0 ? y0 : 0;
        const int32_t y_hi = p->in_h - y0 < p->filter_h ? p->in_h : y0 + p->filter_h;
        for (ox = 0; ox < p->out_w; ox++) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t x_lo = x0 > 0 ? x0 : 0;
            const int32_t x_hi = p->in_w - x0 < p->filter_w ? p->in_w : x0 + p->filter_w;
            const int32_t n = (y_hi - y_lo) * (x_hi - x_lo);
            int8_t *o = out + (oy * p->out_w + ox) * p->channels;
            for (c0 = 0; c0 < p->channels; c0 += BNN_AVGPOOL_S8_BLOCK) {
                const int32_t width = p->channels - c0 < BNN_AVGPOOL_S8_BLOCK
                                          ? p->channels - c0 : BNN_AVGPOOL_S8_BLOCK;
                for (j = 0; j < width; j++)
                    acc[j] = 0;
                for (y = y_lo; y < y_hi; y++) {
                    for (x = x_lo; x < x_hi; x++) {
                        const int8_t *v = in + (y * p->in_w + x) * p->channels + c0;
                        for (j = 0; j < width; j++)
                            acc[j] += v[j];
                    }
                }
                for (j = 0; j < width; j++) {
                    int32_t a = acc[j] > 0 ? (acc[j] + n / 2) / n : (acc[j] - n / 2) / n;
                    a = a < act_min ? act_min : a;
                    o[c0 + j] = (int8_t)(a > act_max ? act_max : a);
                }
            }
        }
    }
}
