"""LCE's bit packing: bit 1 means -1, bit 0 means +1 (sign(0) = +1); bit i of
32-bit word k holds channel 32k+i; padding bits are 0. (Helpers, not an op.)"""

from __future__ import annotations

import numpy as np


def words(n: int) -> int:
    """32-bit words that hold n bits: ``words(33) == 2``."""
    return (n + 31) // 32


def pack_bits(signs_negative: np.ndarray) -> np.ndarray:
    """Pack a boolean array (..., n) (True = -1) into uint32 words (..., ceil(n/32)).

    Example:
        >>> pack_bits(np.array([True, False, True])).tolist()
        [5]
    """
    neg = np.asarray(signs_negative, dtype=bool)
    n = neg.shape[-1]
    padded = np.zeros(neg.shape[:-1] + (words(n) * 32,), dtype=np.uint64)
    padded[..., :n] = neg
    grouped = padded.reshape(neg.shape[:-1] + (words(n), 32))
    weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))
    return (grouped * weights).sum(axis=-1).astype(np.uint32)


def unpack_bits(packed: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint32 (..., words) -> bool (..., n)."""
    p = np.asarray(packed).astype(np.uint32)
    bits = (p[..., :, None] >> np.arange(32, dtype=np.uint32)) & 1
    return bits.reshape(p.shape[:-1] + (-1,))[..., :n].astype(bool)
