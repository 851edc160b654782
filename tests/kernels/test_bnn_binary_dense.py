"""bnn_binary_dense.c and bnn_popcount.c against numpy, widths across the word edge."""

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.lower import derive_thresholds, pack_bits, words
from kernels.kernel_lib import ptr


def _reference_dot(a_neg, w_neg):
    a = np.where(a_neg, -1, 1)
    w = np.where(w_neg, -1, 1)
    return w @ a


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(1, 70), n_out=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_float_output(lib, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    a_neg = rng.random(n_in) < 0.5
    w_neg = rng.random((n_out, n_in)) < 0.5
    scale = rng.uniform(0, 1, n_out).astype(np.float32)
    bias = rng.normal(size=n_out).astype(np.float32)
    out = np.zeros(n_out, np.float32)
    lib.bnn_binary_dense_f32(ptr(pack_bits(a_neg)), n_in, ptr(pack_bits(w_neg)), ptr(scale),
                             ptr(bias), n_out, 0, ptr(out))
    # LCE's float FULLY_CONNECTED order on +-1 inputs and +-scale weights
    from bnnkit.ops.binary_dense import float_output_reference

    expected = float_output_reference(pack_bits(a_neg), pack_bits(w_neg), scale, bias, n_in, False)
    np.testing.assert_array_equal(out.view(np.uint32), expected.view(np.uint32))
    dot = _reference_dot(a_neg, w_neg).astype(np.float64)
    np.testing.assert_allclose(out, dot * scale + bias, rtol=1e-5, atol=1e-4)


@settings(max_examples=80, deadline=None)
@given(n_in=st.integers(1, 70), n_out=st.integers(1, 40), seed=st.integers(0, 2**31),
       relu=st.booleans())
def test_threshold_output_bit_exact(lib, n_in, n_out, seed, relu):
    """Thresholds reproduce sign(bn(dot*c + b)) in float32, for negative and zero
    batch-norm scales too."""
    rng = np.random.default_rng(seed)
    a_neg = rng.random(n_in) < 0.5
    w_neg = rng.random((n_out, n_in)) < 0.5
    scale = rng.uniform(0, 0.1, n_out).astype(np.float32)
    scale[rng.random(n_out) < 0.1] = 0  # all-zero rows
    bias = rng.normal(scale=0.5, size=n_out).astype(np.float32)
    bn_mul = rng.normal(size=n_out).astype(np.float32)
    bn_mul[rng.random(n_out) < 0.15] = 0  # zero batch-norm scale: constant outputs
    bn_add = rng.normal(scale=0.5, size=n_out).astype(np.float32)

    class Op:  # the MUL/ADD nodes of a batch norm after the dense layer
        def __init__(self, kind, values):
            self.kind, self.consts, self.params = kind, {"values": values}, {}

    chain = [Op("mul", bn_mul), Op("add", bn_add)]
    thr, flip = derive_thresholds(n_in, scale, bias, relu, chain)
    out = np.zeros(words(n_out), np.uint32)
    lib.bnn_binary_dense_bits(ptr(pack_bits(a_neg)), n_in, ptr(pack_bits(w_neg)),
                              ptr(thr.astype(np.int32)),
                              ptr(pack_bits(flip)) if flip.any() else None, n_out, ptr(out))
    v = (_reference_dot(a_neg, w_neg).astype(np.float32) * scale).astype(np.float32) + bias
    if relu:
        v = np.maximum(v, 0)
    v = (v * bn_mul).astype(np.float32) + bn_add
    np.testing.assert_array_equal(out, pack_bits(v < 0))


@settings(max_examples=50, deadline=None)
@given(n_words=st.integers(0, 40), seed=st.integers(0, 2**31))
def test_popcount_all_variants(lib, lib_swar, n_words, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, n_words, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 2**32, n_words, dtype=np.uint64).astype(np.uint32)
    expected = int(sum(bin(int(x) ^ int(y)).count("1") for x, y in zip(a, b)))
    assert lib.bnn_xor_popcount(ptr(a), ptr(b), n_words) == expected
    assert lib_swar.bnn_xor_popcount(ptr(a), ptr(b), n_words) == expected


def test_padding_bits_never_count(lib):
    """A 33-wide layer: the 31 padding bits of the second word are 0 on both sides."""
    a = pack_bits(np.ones(33, bool))
    assert a.tolist() == [0xFFFFFFFF, 1]
    assert lib.bnn_xor_popcount(ptr(a), ptr(pack_bits(np.zeros(33, bool))), 2) == 33
