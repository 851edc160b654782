"""TFLite's int8 arithmetic in numpy: requantization, activation clamps, and
how float values become int8. Shared by the int8 op kinds; the C side is
runtime/kernels/bnn_requant.h.

TFLite (2.16, LCE 0.16's interpreter) rescales an int32 accumulator by a real
multiplier M = input_scale * weight_scale / output_scale held as a Q31 fixed
point ``multiplier`` and a power-of-two ``shift`` (QuantizeMultiplier), and
applies it with two roundings: a rounding doubling high multiply, then a
rounding right shift (MultiplyByQuantizedMultiplier; its ties depend on the
kernel, see :func:`requantize`). Everything here is exact integer arithmetic,
so the C gives the interpreter's bytes on every core.

Example:
    >>> m, s = quantize_multiplier(0.0123)
    >>> int(m), s
    (1690499128, -6)
    >>> requantize(np.array([1000, -1000]), m, s, "up").tolist()
    [12, -12]
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: ``real ~= multiplier * 2**(shift - 31)`` with
    ``multiplier`` in [2**30, 2**31) (0 for ``real == 0``).

    Example:
        >>> quantize_multiplier(0.5)
        (1073741824, 0)
    """
    if real == 0.0:
        return 0, 0
    frac, shift = math.frexp(real)
    q = _round_half_away(frac * (1 << 31))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q), int(shift)


def _round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def rounding_doubling_high_mul(a: np.ndarray, b) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values (int64 result)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    out = np.where(s >= 0, s >> 31, -((-s) >> 31))  # C division truncates toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, out)


def rounding_divide_by_pot(x: np.ndarray, exponent) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent, ties away from zero."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def requantize(acc, multiplier, shift, ties: str = "up") -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (two roundings), elementwise;
    ``multiplier`` and ``shift`` broadcast (per channel on the last axis).

    ``ties``: how the second rounding (the right shift) breaks ties. "up"
    (toward +inf) is ruy's x86 output stage, which LCE's and TFLite's
    interpreter use for CONV_2D and FULLY_CONNECTED; "away" (from zero) is
    gemmlowp's RoundingDivideByPOT, which TFLite's other int8 kernels use in
    their scalar code; their NEON code (run on x86 through NEON_2_SSE) breaks
    ties up, so which values round which way depends on the kernel's blocks
    (depthwise: whole groups of 8 channels up, the rest away; see each op
    module). They differ only on negative exact ties."""
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    x = (np.asarray(acc, np.int64) << left) & 0xFFFFFFFF  # int32 wraps, as TFLite's does
    x = np.where(x > INT32_MAX, x - (1 << 32), x)
    high = rounding_doubling_high_mul(x, multiplier)
    if ties == "away":
        return rounding_divide_by_pot(high, right)
    half = np.where(right > 0, np.int64(1) << np.maximum(right - 1, 0), 0)
    return (high + half) >> right


def activation_range(activation: str, scale: float, zero_point: int):
    """(qmin, qmax) of a fused activation on an int8 output, as TFLite's
    CalculateActivationRangeQuantized; None for an activation it has no int8 form of."""
    def q(v):
        return zero_point + _round_half_away(float(np.float32(v) / np.float32(scale)))

    if activation == "NONE":
        return -128, 127
    if activation == "RELU":
        return max(-128, zero_point), 127
    if activation == "RELU6":
        return max(-128, zero_point), min(127, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(-128, q(-1.0)), min(127, q(1.0))
    return None


def quantize_f32(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float32 -> int8: round(x / scale) (ties away from zero, float32
    division) + zero_point, saturated: how bnnkit quantizes preprocessed pixels
    for an int8 model input (the interpreter is given these very bytes)."""
    with np.errstate(all="ignore"):
        v = np.asarray(x, np.float32) / np.float32(scale)
    r = np.where(v >= 0, np.floor(v + np.float32(0.5)), -np.floor(-v + np.float32(0.5)))
    r = np.clip(np.nan_to_num(r.astype(np.float64), nan=0.0), -1e9, 1e9).astype(np.int64)
    return np.clip(r + int(zero_point), -128, 127).astype(np.int8)
