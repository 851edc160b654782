/* int8 MEAN (see bnn_mean_s8.h and ops/mean_s8.py): integer sums, then
 * TFLite's requantization with the rounding shift's ties toward +inf (as the
 * interpreter's 16-channel vector blocks of the spatial mean, bnn_requant.h)
 * or away from zero (gemmlowp's RoundingDivideByPOT, its scalar code). Only
 * integer operations; the lowering keeps |sum + pre| << max(shift, 0) below
 * 2^30 and |post| below 2^24, so nothing overflows. */
#include "bnn_mean_s8.h"

#include "bnn_requant.h"

void bnn_mean_s8(const bnn_mean_s8_params *p, const int8_t *in, int8_t *out)
{
    int32_t o0, o1, r0, r1, k = 0;
    for (o0 = 0; o0 < p->outer[0]; o0++) {
        for (o1 = 0; o1 < p->outer[1]; o1++, k++) {
            const int8_t *base = in + o0 * p->outer_stride[0] + o1 * p->outer_stride[1];
            int32_t acc = p->pre, v;
            for (r0 = 0; r0 < p->inner[0]; r0++) {
                const int8_t *row = base + r0 * p->inner_stride[0];
                for (r1 = 0; r1 < p->inner[1]; r1++)
                    acc += row[r1 * p->inner_stride[1]];
            }
            v = k < p->ties_up ? bnn_requantize(acc, p->mult, p->shift)
                               : bnn_requantize_away(acc, p->mult, p->shift);
            v += p->post;
            v = v < -128 ? -128 : v;
            out[k] = (int8_t)(v > 127 ? 127 : v);
        }
    }
}
