"""bnn_binary_dense.c and bnn_popcount.c against numpy, widths across the word edge."""

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.lower import pack_bits, words
from bnnkit.passes.binary import derive_thresholds
from bnnkit.ops._bits import unpack_bits
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


class _Op:  # the MUL/ADD nodes of a batch norm after the dense layer
    def __init__(self, kind, values):
        self.kind, self.consts, self.params = kind, {"values": values}, {}


def _bits_kernel(lib, a_neg, w_neg, thr, flip, relu=False, exact_at=None, exact_val=None):
    n_out, n_in = w_neg.shape
    out = np.zeros(words(n_out), np.uint32)
    n_exact = 0 if exact_at is None else len(exact_at)
    at = None if not n_exact else np.ascontiguousarray(exact_at, np.int32).reshape(-1)
    val = None if not n_exact else np.ascontiguousarray(exact_val, np.float32).reshape(-1)
    lib.bnn_binary_dense_bits(ptr(pack_bits(a_neg)), n_in, ptr(pack_bits(w_neg)),
                              ptr(np.ascontiguousarray(thr, np.int32)),
                              ptr(pack_bits(flip)) if flip is not None and flip.any() else None,
                              n_out, int(relu), n_exact, None if at is None else ptr(at),
                              None if val is None else ptr(val), ptr(out))
    return out


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

    chain = [_Op("mul", bn_mul), _Op("add", bn_add)]
    thr, flip = derive_thresholds(n_in, scale, bias, relu, chain)
    out = _bits_kernel(lib, a_neg, w_neg, thr, flip)
    v = (_reference_dot(a_neg, w_neg).astype(np.float32) * scale).astype(np.float32) + bias
    if relu:
        v = np.maximum(v, 0)
    v = (v * bn_mul).astype(np.float32) + bn_add
    np.testing.assert_array_equal(out, pack_bits(v < 0))


def _lce_sign(a_neg, w_neg, scale, bias, relu, mul, add):
    """LCE's bits: its float FULLY_CONNECTED, then MUL, ADD, sign (numpy, fc_reference)."""
    from bnnkit.ops.fully_connected import fc_reference

    x = np.where(a_neg, np.float32(-1), np.float32(1))
    w = np.where(w_neg, -scale[:, None], scale[:, None]).astype(np.float32)
    with np.errstate(all="ignore"):
        v = fc_reference(x, w, bias, relu)
        v = np.clip((v * mul).astype(np.float32), -np.finfo(np.float32).max,
                    np.finfo(np.float32).max)
        return (v + add).astype(np.float32) < 0


@settings(max_examples=120, deadline=None)
@given(n_in=st.integers(1, 800), n_out=st.integers(1, 130), seed=st.integers(0, 2**31),
       relu=st.booleans(), full=st.booleans())
def test_exact_outputs_match_reference_and_lce(lib, n_in, n_out, seed, relu, full):
    """Outputs forced onto the exact path: the kernel equals the op module's
    reference; with the whole popcount range forced it equals LCE's float value's
    sign, negative and zero scales, biases near the boundary included."""
    from bnnkit.ops.binary_dense import bits_output_reference

    rng = np.random.default_rng(seed)
    a_neg = rng.random(n_in) < rng.uniform(0.05, 0.95)
    w_neg = rng.random((n_out, n_in)) < 0.5
    scale = rng.uniform(0, 0.1, n_out).astype(np.float32)
    scale[rng.random(n_out) < 0.1] = 0
    # biases that put the boundary at a reachable dot product: the rounding matters
    bias = (-scale * rng.integers(-n_in, n_in + 1, n_out)).astype(np.float32)
    bias += (rng.normal(size=n_out) * scale * 1e-6 * rng.integers(0, 2, n_out)).astype(np.float32)
    mul = rng.normal(size=n_out).astype(np.float32)
    mul[rng.random(n_out) < 0.15] = 0
    mul[rng.random(n_out) < 0.2] = 1
    add = np.where(rng.random(n_out) < 0.5, 0, rng.normal(scale=1e-3, size=n_out)).astype(np.float32)
    thr = rng.integers(-1, n_in + 1, n_out).astype(np.int32)
    flip = rng.random(n_out) < 0.3
    at = np.flatnonzero(rng.random(n_out) < 0.5)
    if full:
        lo, hi = np.zeros(len(at), np.int32), np.full(len(at), n_in, np.int32)
    else:
        lo = rng.integers(0, n_in + 1, len(at))
        hi = lo + rng.integers(-1, n_in + 1, len(at))
    exact_at = np.stack([at, lo, hi], 1).astype(np.int32)
    exact_val = np.stack([scale[at], bias[at], mul[at], add[at]], 1).astype(np.float32)
    out = _bits_kernel(lib, a_neg, w_neg, thr, flip, relu, exact_at, exact_val)
    expected = bits_output_reference(pack_bits(a_neg), pack_bits(w_neg), thr,
                                     pack_bits(flip), n_in, relu, exact_at, exact_val)
    np.testing.assert_array_equal(out, expected)
    if full:
        lce = _lce_sign(a_neg, w_neg, scale, bias, relu, mul, add)
        got = unpack_bits(out, n_out)
        np.testing.assert_array_equal(got[at], lce[at])


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(1, 300), n_out=st.integers(1, 40), seed=st.integers(0, 2**31),
       relu=st.booleans(), form=st.sampled_from([(), ("mul",), ("add",), ("mul", "add")]))
def test_lowered_layer_equals_lce_everywhere(lib, n_in, n_out, seed, relu, form):
    """What fuse_threshold builds (thresholds + the ambiguous outputs' ranges)
    gives LCE's sign on random inputs, for layers made to be ambiguous."""
    from bnnkit.passes.binary import thresholds_ambiguous

    rng = np.random.default_rng(seed)
    w_neg = rng.random((n_out, n_in)) < 0.5
    scale = rng.uniform(0, 1, n_out).astype(np.float32) * np.float32(2.0 ** rng.integers(-8, 4))
    scale[rng.random(n_out) < 0.05] = 0
    bias = (-scale * rng.integers(-n_in, n_in + 1, n_out)).astype(np.float32)
    mul = rng.normal(size=n_out).astype(np.float32)
    mul[rng.random(n_out) < 0.1] = 0
    add = (rng.normal(size=n_out) * scale * 1e-6).astype(np.float32)
    chain = [_Op(k, mul if k == "mul" else add) for k in form]
    bn_mul = mul if "mul" in form else np.ones(n_out, np.float32)
    bn_add = add if "add" in form else np.zeros(n_out, np.float32)
    thr, flip = derive_thresholds(n_in, scale, bias, relu, chain)
    mask, lo, hi = thresholds_ambiguous(n_in, scale, bias, relu, chain, ranges=True)
    at = np.flatnonzero(mask)
    exact_at = np.stack([at, lo[at], hi[at]], 1).astype(np.int32)
    exact_val = np.stack([scale[at], bias[at], bn_mul[at], bn_add[at]], 1).astype(np.float32)
    a0 = rng.random(n_in) < rng.uniform(0, 1)
    # bias puts output j's boundary at a0's dot product: inputs near a0 sit on it
    dot0 = _reference_dot(a0, w_neg).astype(np.float32)
    bias = np.where(rng.random(n_out) < 0.7, -(scale * dot0).astype(np.float32), bias)
    thr, flip = derive_thresholds(n_in, scale, bias, relu, chain)
    mask, lo, hi = thresholds_ambiguous(n_in, scale, bias, relu, chain, ranges=True)
    at = np.flatnonzero(mask)
    exact_at = np.stack([at, lo[at], hi[at]], 1).astype(np.int32)
    exact_val = np.stack([scale[at], bias[at], bn_mul[at], bn_add[at]], 1).astype(np.float32)
    for _ in range(8):
        a_neg = a0 ^ (rng.random(n_in) < rng.uniform(0, 0.05))  # near a0: same popcounts often
        out = _bits_kernel(lib, a_neg, w_neg, thr, flip, relu, exact_at, exact_val)
        lce = _lce_sign(a_neg, w_neg, scale, bias, relu, bn_mul, bn_add)
        np.testing.assert_array_equal(out, pack_bits(lce))


@settings(max_examples=50, deadline=None)
@given(n_words=st.integers(0, 40), seed=st.integers(0, 2**31))
def test_popcount_all_variants(lib, lib_swar, n_words, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, n_words, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 2**32, n_words, dtype=np.uint64).astype(np.uint32)
    expected = int(sum(bin(int(x) ^ int(y)).count("1") for x, y in zip(a, b)))
    assert lib.bnn_xor_popcount(ptr(a), ptr(b), n_words) == expected
    assert lib_swar.bnn_xor_popcount(ptr(a), ptr(b), n_words) == expected
    ones = np.full(n_words, 0xFFFFFFFF, np.uint32)  # every field at its largest
    assert lib_swar.bnn_xor_popcount(ptr(ones), ptr(np.zeros_like(ones)), n_words) == 32 * n_words


def test_padding_bits_never_count(lib):
    """A 33-wide layer: the 31 padding bits of the second word are 0 on both sides."""
    a = pack_bits(np.ones(33, bool))
    assert a.tolist() == [0xFFFFFFFF, 1]
    assert lib.bnn_xor_popcount(ptr(a), ptr(pack_bits(np.zeros(33, bool))), 2) == 33
