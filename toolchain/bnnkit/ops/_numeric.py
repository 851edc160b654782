"""float32 arithmetic helpers for the numpy references of the kernels."""

from __future__ import annotations

import numpy as np


def fma_f32(a, b, c) -> np.ndarray:
    """float32 fused multiply-add, a * b + c rounded once (C's fmaf), exactly.

    a * b is exact in float64; the float64 sum is made round-to-odd (its error
    from TwoSum decides the last bit), which makes the final rounding to
    float32 correct, since float64 carries more than 24 + 1 bits.

    Example:
        >>> float(fma_f32(np.float32(0.5), np.float32(3.0), np.float32(1.0)))
        2.5
    """
    a, b, c = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    prod = a * b
    s = prod + c
    bb = s - prod
    err = (prod - (s - bb)) + (c - bb)  # exact: s + err == prod + c
    bits = s.view(np.int64) if s.ndim else np.array(s).view(np.int64)
    even = (bits & 1) == 0
    nudge = (err != 0) & even
    s = np.where(nudge, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(np.float32)


def hex_float(v) -> str:
    """An exact C float literal: ``hex_float(0.5) == '0x1.0000000000000p-1f'``."""
    return float(np.float32(v)).hex() + "f"
