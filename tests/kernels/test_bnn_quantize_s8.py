"""bnn_quantize_s8.c (QUANTIZE float -> int8), bnn_dequantize_s8.c (DEQUANTIZE
int8 -> float), bnn_quantize_bits_s8.c (LceQuantize of int8) and the int8
softmax's computed exponentials, against the numpy references of ops/."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops._bits import pack_bits, words
from bnnkit.ops.dequantize_s8 import dequantize_reference, neg_zero_point_scale
from bnnkit.ops.quantize_bits_s8 import bits_reference
from bnnkit.ops.quantize_s8 import quantize_reference
from bnnkit.ops.softmax_s8 import computable, exp_scale, softmax_table
from kernels.kernel_lib import f32, ptr

SCALES = st.floats(2.0 ** -10, 0.5, width=32)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 40), scale=SCALES, zp=st.integers(-128, 127), seed=st.integers(0, 2**31),
       tflite=st.booleans())
def test_quantize_matches_the_interpreters_two_paths(lib, n, scale, zp, seed, tflite):
    """LCE's blocks of 8 and tail, or TFLite's reference kernel (blocked -1)."""
    rng = np.random.default_rng(seed)
    s = np.float32(scale)
    # exact ties of both paths (k + 0.5) * scale, values far out of range, NaN
    x = ((rng.integers(-300, 300, n) + 0.5) * s).astype(np.float32)
    spread = rng.random(n) < 0.3
    x[spread] = rng.normal(0, 200 * s, int(spread.sum())).astype(np.float32)
    x[rng.random(n) < 0.05] = np.float32(3e9)
    x[rng.random(n) < 0.05] = np.float32("nan")
    out = np.zeros(n, np.int8)
    inv = np.float32(1.0 / np.float64(s))
    blocked = -1 if tflite else n // 8 * 8
    lib.bnn_quantize_s8(ptr(x), n, blocked, f32(inv), ctypes.c_double(float(s)), zp, ptr(out))
    np.testing.assert_array_equal(out, quantize_reference(x, s, zp, tflite))


def test_quantize_rounds_ties_even_in_blocks_and_away_in_the_tail(lib):
    x = np.float32([0.5, 1.5, 2.5, -0.5, -2.5, 0.5, 0.5, 0.5, 0.5, -2.5])
    out = np.zeros(10, np.int8)
    lib.bnn_quantize_s8(ptr(x), 10, 8, f32(1.0), ctypes.c_double(1.0), 0, ptr(out))
    assert out.tolist() == [0, 2, 2, 0, -2, 0, 0, 0, 1, -3]
    lib.bnn_quantize_s8(ptr(x), 10, -1, f32(1.0), ctypes.c_double(1.0), 0, ptr(out))
    assert out.tolist() == [1, 2, 3, -1, -3, 1, 1, 1, 1, -3]  # TFLite's reference: all away


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), scale=SCALES, zp=st.integers(-128, 127), seed=st.integers(0, 2**31),
       tflite=st.booleans())
def test_dequantize(lib, n, scale, zp, seed, tflite):
    q = np.random.default_rng(seed).integers(-128, 128, n).astype(np.int8)
    out = np.zeros(n, np.float32)
    blocked = 0 if tflite else n // 8 * 8
    lib.bnn_dequantize_s8(ptr(q), n, blocked, f32(scale), f32(neg_zero_point_scale(scale, zp)),
                          zp, ptr(out))
    ref = dequantize_reference(q, scale, zp, tflite)
    np.testing.assert_array_equal(out.view(np.uint32), ref.view(np.uint32))


@settings(max_examples=60, deadline=None)
@given(outer=st.integers(1, 3), channels=st.integers(1, 70), zp=st.integers(-128, 127),
       per_channel=st.booleans(), seed=st.integers(0, 2**31))
def test_quantize_bits(lib, outer, channels, zp, per_channel, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (outer, channels)).astype(np.int8)
    thr = rng.integers(-128, 128, channels).astype(np.int8) if per_channel else None
    flip = pack_bits(rng.random(channels) < 0.5) if per_channel else None
    out = np.zeros((outer, words(channels)), np.uint32)
    lib.bnn_quantize_bits_s8(ptr(x), outer, channels, zp, None if thr is None else ptr(thr),
                             None if flip is None else ptr(flip), ptr(out))
    np.testing.assert_array_equal(out, bits_reference(x, zp, thr, flip))


def test_softmax_computes_the_tables_entries(lib):
    """Where lowering drops the table, the kernel's own exponentials give the
    bytes the table gives, for every input."""
    for in_scale in (0.0200470537, 0.05, 0.1, 1 / 16):
        table = softmax_table(in_scale, 1.0)
        assert computable(table, in_scale, 1.0)
        rng = np.random.default_rng(1)
        for _ in range(20):
            x = rng.integers(-128, 128, 10).astype(np.int8)
            a, b = np.zeros(10, np.int8), np.zeros(10, np.int8)
            e = f32(exp_scale(in_scale, 1.0))
            lib.bnn_softmax_s8(ptr(x), 10, ptr(table), e, f32(1 / 256), -128, ptr(a))
            lib.bnn_softmax_s8(ptr(x), 10, None, e, f32(1 / 256), -128, ptr(b))
            np.testing.assert_array_equal(a, b)
