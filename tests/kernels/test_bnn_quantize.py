"""bnn_quantize.c (sign packing with fused batch norm) and bnn_dequantize.c."""

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.lower import pack_bits, words
from kernels.kernel_lib import ptr


@settings(max_examples=60, deadline=None)
@given(outer=st.integers(1, 5), channels=st.integers(1, 70), seed=st.integers(0, 2**31),
       use_mul=st.booleans(), use_add=st.booleans())
def test_quantize(lib, outer, channels, seed, use_mul, use_add):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(outer, channels)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = 0.0  # sign(0) = +1
    mul = rng.normal(size=channels).astype(np.float32)
    mul[rng.random(channels) < 0.1] = 0.0
    add = rng.normal(size=channels).astype(np.float32)
    out = np.zeros((outer, words(channels)), np.uint32)
    lib.bnn_quantize_f32(ptr(x), outer, channels, ptr(mul) if use_mul else None,
                         ptr(add) if use_add else None, ptr(out))
    v = x
    if use_mul:
        v = (v * mul).astype(np.float32)
    if use_add:
        v = (v + add).astype(np.float32)
    np.testing.assert_array_equal(out, pack_bits(v < 0))


@settings(max_examples=30, deadline=None)
@given(outer=st.integers(1, 4), channels=st.integers(1, 70), seed=st.integers(0, 2**31))
def test_dequantize_round_trip(lib, outer, channels, seed):
    neg = np.random.default_rng(seed).random((outer, channels)) < 0.5
    out = np.zeros((outer, channels), np.float32)
    lib.bnn_dequantize(ptr(pack_bits(neg)), outer, channels, ptr(out))
    np.testing.assert_array_equal(out, np.where(neg, -1.0, 1.0).astype(np.float32))
