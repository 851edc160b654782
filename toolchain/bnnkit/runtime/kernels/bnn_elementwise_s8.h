/* int8 ADD (same shapes) and MUL (NumPy/TFLite broadcasting), TFLite's
 * integer arithmetic exactly (ops/elementwise_s8.py):
 *
 *   ADD, the first add_blocked values (LCE's interpreter: n / 16 * 16, TFLite's
 *   NEON blocks; TFLite's reference kernel: none):
 *        a' = srdhm((a + a_offset) << (20 + a_shift), a_mult), b' likewise,
 *        out = clamp(sat8(wrap16(wrap16(rdbpot(srdhm(a' + b', out_mult), -out_shift))
 *                         + out_offset)))
 *   ADD, the rest (its scalar loop):
 *        a' = rdbpot(srdhm((a + a_offset) << 20, a_mult), -a_shift), b' likewise,
 *        out = clamp(rdbpot(srdhm(a' + b', out_mult), -out_shift) + out_offset)
 *   MUL: out = clamp(rdbpot(srdhm((a + a_offset) * (b + b_offset), out_mult),
 *                    -out_shift) + out_offset)
 *
 * srdhm: gemmlowp's SaturatingRoundingDoublingHighMul; rdbpot: its
 * RoundingDivideByPOT (ties away from zero). Offsets are the negated input
 * zero points and the output zero point; clamp is the fused activation. The
 * output has shape dims[0..3] (outermost first, padded with leading 1s); an
 * operand's element strides are 0 along axes it broadcasts. */
#ifndef BNN_ELEMENTWISE_S8_H
#define BNN_ELEMENTWISE_S8_H

#include "bnn_kernels.h"

typedef struct {
    int32_t dims[4];
    int32_t a_strides[4];
    int32_t b_strides[4];
    int32_t a_offset, b_offset, out_offset;
    int32_t a_mult, a_shift, b_mult, b_shift; /* ADD only */
    int32_t out_mult, out_shift;
    int32_t act_min, act_max;
    int32_t add_blocked; /* ADD: values computed the NEON block way (LCE's interpreter:
                            n / 16 * 16; TFLite's reference kernel: 0) */
} bnn_elementwise_s8_params;

void bnn_add_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out);
void bnn_mul_s8(const bnn_elementwise_s8_params *p, const int8_t *a, const int8_t *b,
                int8_t *out);

#endif
