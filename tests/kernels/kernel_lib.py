"""Helpers to build firmware/kernels/*.c into a shared library for ctypes."""

import ctypes
import subprocess
from pathlib import Path

import numpy as np

KERNELS = Path(__file__).resolve().parents[2] / "firmware" / "kernels"
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-O2", "-shared", "-fPIC"]


def build(tmp: Path, extra=()) -> ctypes.CDLL:
    lib = tmp / f"libbnn{'_'.join(extra) or ''}.so"
    srcs = sorted(str(p) for p in KERNELS.glob("*.c"))
    subprocess.run(["gcc", *FLAGS, *extra, "-o", str(lib), *srcs, "-lm"], check=True)
    return ctypes.CDLL(str(lib))


def ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def f32(v):
    return ctypes.c_float(v)


def fma_f32(a, b, c) -> np.ndarray:
    """float32 fused multiply-add, a * b + c rounded once (C's fmaf), exactly.

    a * b is exact in float64; the float64 sum is made round-to-odd (its error
    from TwoSum decides the last bit), which makes the final rounding to
    float32 correct, since float64 carries more than 24 + 1 bits.
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
