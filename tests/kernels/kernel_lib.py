"""Helpers to build the runtime's kernels (bnnkit/runtime/kernels/*.c) into a shared
library for ctypes."""

import ctypes
import subprocess
from pathlib import Path

import numpy as np

from bnnkit.ops._numeric import fma_f32  # noqa: F401  (the references use it)
from bnnkit.targets import RUNTIME_DIR

KERNELS = RUNTIME_DIR / "kernels"
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
