"""bnn_elementwise_s8.c (int8 ADD and MUL) and bnn_requantize_s8.c (QUANTIZE
int8 -> int8) against the op modules' numpy references: TFLite's integer
arithmetic with its SIMD blocks and scalar tails, on every zero point, scale
ratio and length (the converted-model checks are in tests/test_int8.py)."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops._quant import quantize_multiplier
from bnnkit.ops.elementwise import bcast_strides
from bnnkit.ops.elementwise_s8 import (add_blocked, add_multipliers, add_s8, mul_fits_int16, mul_multiplier,
                                       mul_s8)
from bnnkit.ops.requantize_s8 import requantize_s8
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

SCALES = st.floats(2.0 ** -8, 1.0, width=32)
ZERO_POINTS = st.integers(-128, 127)


EwParams = ctypes_struct("bnn_elementwise_s8_params")


def _params(p, sa, sb, out_shape):
    dims = [1] * (4 - len(out_shape)) + list(out_shape)
    arr = lambda v: (ctypes.c_int32 * 4)(*v)  # noqa: E731
    (ma, a_shift), (mb, b_shift), (mo, so) = p.get("mults") or ((0, 0), (0, 0), p["mult"])
    return EwParams(arr(dims), arr(bcast_strides(sa, out_shape)), arr(bcast_strides(sb, out_shape)),
                    -p["za"], -p["zb"], p["zo"], ma, a_shift, mb, b_shift, mo, so, *p["act"],
                    add_blocked(int(np.prod(out_shape)), p) if "mults" in p else 0)


def _run(fn, p, a, b):
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    n = int(np.prod(out_shape))
    out = np.full(n + 8, 99, np.int8)  # guard bytes after the output stay untouched
    fn(ctypes.byref(_params(p, a.shape, b.shape, out_shape)), ptr(np.ascontiguousarray(a)),
       ptr(np.ascontiguousarray(b)), ptr(out))
    assert (out[n:] == 99).all()
    return out[:n].reshape(out_shape)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 70), sa=SCALES, sb=SCALES, so=SCALES, za=ZERO_POINTS, zb=ZERO_POINTS,
       zo=ZERO_POINTS, relu=st.booleans(), seed=st.integers(0, 2**31))
def test_add_blocks_and_tail(lib, n, sa, sb, so, za, zb, zo, relu, seed):
    mults = add_multipliers(sa, sb, so)
    if mults is None:
        return
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-128, 128, n).astype(np.int8) for _ in range(2))
    p = {"za": za, "zb": zb, "zo": zo, "act": (max(zo, -128), 127) if relu else (-128, 127),
         "mults": mults}
    out = _run(lib.bnn_add_s8, p, a, b)
    np.testing.assert_array_equal(out, add_s8(a, b, p))
    # the reference is the real sum, rounded, up to TFLite's fixed-point error,
    # except where a block of 16 narrows a sum beyond int16 before the zero
    # point (vmovn wraps it, as the interpreter does; hypothesis found
    # sa = sb = 1, so = 1/256)
    real = ((a.astype(np.float64) - za) * sa + (b.astype(np.float64) - zb) * sb) / so + zo
    fits = (np.arange(n) >= n // 16 * 16) | (np.abs(np.round(real) - zo) < 32767)
    assert np.abs(out - np.clip(np.round(real), *p["act"]))[fits].max(initial=0) <= 1


def test_add_blocks_and_tail_round_differently(lib):
    """The same values in a block and in the tail: TFLite's NEON block rescales
    each input with one rounding, its scalar loop with two, and (measured on
    the interpreter) they differ on the same input pair."""
    p = {"za": -19, "zb": 0, "zo": 0, "act": (-128, 127),
         "mults": ((1879048096, -1), (1073741824, 0), (1431655822, -20))}
    a, b = np.full(17, 89, np.int8), np.full(17, 12, np.int8)
    out = _run(lib.bnn_add_s8, p, a, b)
    assert out[0] == 35 and out[16] == 36  # real value 35.4999998
    np.testing.assert_array_equal(out, add_s8(a, b, p))


def test_add_wraps_in_int16_inside_blocks(lib):
    """A tiny output scale: the block narrows the sum to int16 before the zero
    point (vmovn), the tail saturates; both as TFLite."""
    p = {"za": 0, "zb": 0, "zo": 0, "act": (-128, 127), "mults": add_multipliers(1.0, 1.0, 2.0**-9)}
    a, b = np.full(17, 127, np.int8), np.full(17, 127, np.int8)
    out = _run(lib.bnn_add_s8, p, a, b)
    assert out[16] == 127 and out[0] == -128  # 254 * 512 wraps to -1024
    np.testing.assert_array_equal(out, add_s8(a, b, p))


@settings(max_examples=150, deadline=None)
@given(shapes=st.sampled_from([((5, 3, 8), (5, 3, 8)), ((4, 4, 6), (1, 1, 6)), ((6,), (3, 2, 6)),
                               ((2, 1, 5), (1, 3, 1)), ((1,), (7, 9))]),
       sa=SCALES, sb=SCALES, so=SCALES, za=ZERO_POINTS, zb=ZERO_POINTS, zo=ZERO_POINTS,
       seed=st.integers(0, 2**31))
def test_mul_broadcasts(lib, shapes, sa, sb, so, za, zb, zo, seed):
    mult = mul_multiplier(sa, sb, so)
    if not mul_fits_int16(*mult):
        return
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-128, 128, s).astype(np.int8) for s in shapes)
    p = {"za": za, "zb": zb, "zo": zo, "act": (-128, 127), "mult": mult}
    out = _run(lib.bnn_mul_s8, p, a, b)
    np.testing.assert_array_equal(out, mul_s8(*np.broadcast_arrays(a, b), p))
    real = (a.astype(np.float64) - za) * (b.astype(np.float64) - zb) * sa * sb / so + zo
    assert np.abs(out - np.clip(np.round(real), -128, 127)).max() <= 1


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 70), ratio=st.one_of(st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]),
                                             st.floats(0.01, 4.0)),
       zp_in=ZERO_POINTS, zp_out=ZERO_POINTS, seed=st.integers(0, 2**31), tflite=st.booleans())
def test_requantize(lib, n, ratio, zp_in, zp_out, seed, tflite):
    """Ratios of 1/4 and 1/2 put values on exact ties, which blocks of 16 break
    upward and the tail away from zero (TFLite's reference kernel: all away)."""
    m, s = quantize_multiplier(ratio)
    x = np.random.default_rng(seed).integers(-128, 128, n).astype(np.int8)
    out = np.full(n + 8, 99, np.int8)
    blocked = 0 if tflite else n // 16 * 16
    lib.bnn_requantize_tensor_s8(ptr(x), n, blocked, m, s, zp_in, zp_out, ptr(out))
    assert (out[n:] == 99).all()
    np.testing.assert_array_equal(out[:n], requantize_s8(x, m, s, zp_in, zp_out, tflite))


def test_requantize_ties_depend_on_the_block():
    m, s = quantize_multiplier(0.25)
    out = requantize_s8(np.full(20, -2, np.int8), m, s, 0, 0)
    assert out[:16].tolist() == [0] * 16 and out[16:].tolist() == [-1] * 4


def test_add_span_keeps_the_whole_adds_blocks(tmp_path):
    """bnn_add_s8_span (a fused conv's ADD, a few positions at a time) gives
    each value the arithmetic of its index in the whole ADD: the first
    add_blocked values the block way, even when a span starts past them or
    straddles the boundary. Parameters chosen so that the two ways differ on
    almost every value (the block's int16 wrap)."""
    import subprocess

    from kernels.kernel_lib import KERNELS

    src = tmp_path / "span.c"
    src.write_text(r"""
#include <stdio.h>
#include "bnn_elementwise_s8.h"
int main(void)
{
    bnn_elementwise_s8_params p = {{1, 1, 1, 200}, {0, 0, 0, 1}, {0, 0, 0, 1}, 0, 0, 0,
                                   1 << 30, 0, 1 << 30, 0, 1 << 30, 0, -128, 127, 37};
    int8_t a[200], b[200], whole[200], spans[200];
    int32_t i, first, differ = 0;
    for (i = 0; i < 200; i++) {
        a[i] = (int8_t)(i * 7 - 100);
        b[i] = (int8_t)(i * 13 % 256 - 128);
    }
    for (i = 0; i < 200; i++)  /* by index, as bnn_add_s8 defines it */
        whole[i] = i < 37 ? bnn_add_s8_block(&p, a[i], b[i]) : bnn_add_s8_tail(&p, a[i], b[i]);
    for (first = 0; first < 200; first += 24)  /* spans of 24 values: 37 falls inside one */
        bnn_add_s8_span(&p, a + first, b + first, first, 200 - first < 24 ? 200 - first : 24,
                        spans + first);
    for (i = 0; i < 200; i++)
        differ += bnn_add_s8_block(&p, a[i], b[i]) != bnn_add_s8_tail(&p, a[i], b[i]);
    for (i = 0; i < 200; i++)
        if (spans[i] != whole[i]) {
            printf("value %d: %d, expected %d\n", (int)i, spans[i], whole[i]);
            return 1;
        }
    printf("%d\n", (int)differ);
    return 0;
}
""")
    exe = tmp_path / "span"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{KERNELS}",
                    str(src), "-o", str(exe)], check=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    assert int(run.stdout) > 150, "the block and tail ways agree: the test would prove nothing"
