/* bnn_requant.h: TFLite's int8 requantization, exactly (ops/_quant.py).
 *
 * An int32 accumulator is scaled by a real multiplier held as a Q31 fixed
 * point mult in [2^30, 2^31) and a power-of-two shift, with TFLite's two
 * roundings (MultiplyByQuantizedMultiplier): a rounding doubling high
 * multiply (gemmlowp's SaturatingRoundingDoublingHighMul; its saturating
 * case needs mult == INT32_MIN, which a positive multiplier never is), then a
 * rounding right shift with ties toward +inf: ruy's x86 output stage, which
 * the interpreter runs for CONV_2D and FULLY_CONNECTED (gemmlowp's own shift,
 * ties away from zero, differs on negative exact ties: 4 of LeNet's 10,000
 * test images). Only integer operations: the same bytes on every core, no
 * float and no library call. */
#ifndef BNN_REQUANT_H
#define BNN_REQUANT_H

#include "bnn_kernels.h"

BNN_INLINE int32_t bnn_requantize(int32_t acc, int32_t mult, int32_t shift)
{
    /* acc * 2^left wraps in int32 as TFLite's does (done unsigned: no UB) */
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t x = (int32_t)((uint32_t)acc << left);
    /* gemmlowp's high multiply adds 2^30 (ab >= 0) or 1 - 2^30 (ab < 0) and
     * divides by 2^31 toward zero: both are floor((ab + 2^30) / 2^31). The
     * shift's rounding is floor((high + 2^(right-1)) / 2^right), and nested
     * floors of integer divisions are one floor: one multiply-add (SMLAL),
     * one 64-bit rounding constant and one arithmetic shift (gcc and clang
     * shift signed values arithmetically, as every C compiler bnnkit targets
     * does). */
    const int64_t round = ((int64_t)1 << 30) + ((int64_t)(right > 0) << (30 + right));
    const int64_t v = (int64_t)x * mult + round;
    /* v >> (31 + right), without a 64-bit variable shift */
    return right ? (int32_t)(v >> 32) >> (right - 1) : (int32_t)(v >> 31);
}

/* bnn_requantize_away where the generator has proven |acc| < 2^30 and the
 * shift negative (right = -shift >= 1; `fast_requant` in a kernel's
 * parameters): the high multiply floor((acc * mult + 2^30) / 2^31) is
 * floor((2 acc * mult + 2^31) / 2^32), one rounding multiply (SMMULR; gcc
 * makes it SMLAL), and with |high| <= 2^30 the shift's ties away from zero
 * are (high + 2^(right-1) + (high < 0 ? -1 : 0)) >> right, with no overflow.
 * `round` is 2^(right-1). The same integers as bnn_requantize_away. On a core
 * with the DSP extension the multiply is SMMULR itself, which is that very
 * expression (gcc would spend two more instructions and two registers). */
BNN_INLINE int32_t bnn_requantize_away_small(int32_t acc, int32_t mult, int32_t right,
                                             int32_t round)
{
    int32_t high;
#if defined(__ARM_FEATURE_DSP) && defined(__thumb2__)
    __asm__("smmulr %0, %1, %2" : "=r"(high) : "r"(acc * 2), "r"(mult));
#else
    high = (int32_t)(((int64_t)(acc * 2) * mult + ((int64_t)1 << 31)) >> 32);
#endif
    return (high + round + (high >> 31)) >> right;
}

/* requantize, add the output zero point, clamp to [lo, hi] (the fused activation) */
BNN_INLINE int8_t bnn_requantize_s8(int32_t acc, int32_t mult, int32_t shift, int32_t zero_point,
                                    int32_t lo, int32_t hi)
{
    int32_t v = bnn_requantize(acc, mult, shift) + zero_point;
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
}

/* TFLite's MultiplyByQuantizedMultiplier with gemmlowp's own roundings, as
 * TFLite's reference kernels (TFLite Micro's, CMSIS-NN's arm_nn_requantize)
 * and its other optimized int8 kernels use it: the high multiply
 * h = floor((x * mult + 2^30) / 2^31) (mult > 0: never saturating), then
 * RoundingDivideByPOT, ties away from zero. x << left wraps as in TFLite.
 * (Nesting the two into one 64-bit multiply-add, as above, needs a 64-bit
 * compare for the sign: measured 6 % more instructions on the M4.) */
BNN_INLINE int32_t bnn_requantize_away(int32_t acc, int32_t mult, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t x = (int32_t)((uint32_t)acc << left);
    const int32_t high = (int32_t)(((int64_t)x * mult + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
    const int32_t remainder = high & mask, threshold = (mask >> 1) + (high < 0);
    return (high >> right) + (remainder > threshold);
}

#endif
