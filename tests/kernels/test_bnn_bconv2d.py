"""bnn_bconv2d.c and bnn_bmaxpool.c against numpy (+-1 convolutions)."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.lower import pack_bits, words
from kernels.kernel_lib import ptr


class BconvParams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in (
        "in_h", "in_w", "in_c", "out_c", "k_h", "k_w", "stride_h", "stride_w", "dilation_h",
        "dilation_w", "pad_top", "pad_left", "out_h", "out_w", "one_padding", "clamp_min",
        "clamp_max")]


class BpoolParams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in (
        "in_h", "in_w", "channels", "filter_h", "filter_w", "stride_h", "stride_w", "pad_top",
        "pad_left", "out_h", "out_w")]


def _geometry(h, k, stride, same):
    if same:
        out = -(-h // stride)
        return out, max((out - 1) * stride + k - h, 0) // 2
    return (h - k) // stride + 1, 0


def _reference_dot(x_pm1, w_pm1, stride, pad, out_hw, pad_value):
    h, wd, ic = x_pm1.shape
    oc, kh, kw, _ = w_pm1.shape
    padded = np.full((h + kh + 2 * pad, wd + kw + 2 * pad, ic), pad_value, np.int64)
    padded[pad:pad + h, pad:pad + wd] = x_pm1
    out = np.zeros(out_hw + (oc,), np.int64)
    for oy in range(out_hw[0]):
        for ox in range(out_hw[1]):
            patch = padded[oy * stride:oy * stride + kh, ox * stride:ox * stride + kw]
            out[oy, ox] = np.tensordot(w_pm1, patch, axes=([1, 2, 3], [0, 1, 2]))
    return out


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 8), oc=st.integers(1, 40), k=st.integers(1, 3),
       # past 64 words a 3x3 patch is not gathered: the tap-by-tap path
       ic=st.one_of(st.integers(1, 70), st.integers(230, 260)),
       stride=st.integers(1, 2), same=st.booleans(), one_padding=st.booleans(),
       relu=st.booleans(), seed=st.integers(0, 2**31))
def test_bconv2d_float(lib, h, ic, oc, k, stride, same, one_padding, relu, seed):
    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    mul = rng.normal(size=oc).astype(np.float32)
    bias = rng.normal(size=oc).astype(np.float32)
    out_hw, pad = _geometry(h, k, stride, same)
    pad_value = 1 if one_padding else 0
    dot = _reference_dot(np.where(x_neg, -1, 1), np.where(w_neg, -1, 1), stride, pad,
                         (out_hw, out_hw), pad_value)
    if relu:
        dot = np.maximum(dot, 0)
    expected = (dot.astype(np.float32) * mul).astype(np.float32) + bias
    p = BconvParams(h, h, ic, oc, k, k, stride, stride, 1, 1, pad, pad, out_hw, out_hw,
                    int(one_padding), 0 if relu else -2**31, 2**31 - 1)
    out = np.zeros((out_hw, out_hw, oc), np.float32)
    lib.bnn_bconv2d_f32(ctypes.byref(p), ptr(pack_bits(x_neg)), ptr(pack_bits(w_neg)), ptr(mul),
                        ptr(bias), ptr(out))
    np.testing.assert_array_equal(out, expected)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 8), oc=st.integers(1, 40), k=st.integers(1, 3),
       ic=st.one_of(st.integers(1, 70), st.integers(230, 260)),
       same=st.booleans(), seed=st.integers(0, 2**31))
def test_bconv2d_bits(lib, h, ic, oc, k, same, seed):
    """Bit output uses LCE's popcount thresholds; padding (if any) reads +1."""
    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    out_hw, pad = _geometry(h, k, 1, same)
    dot = _reference_dot(np.where(x_neg, -1, 1), np.where(w_neg, -1, 1), 1, pad,
                         (out_hw, out_hw), 1)
    accum = (k * k * ic - dot) // 2
    thr = rng.integers(0, k * k * ic + 1, oc).astype(np.int32)
    p = BconvParams(h, h, ic, oc, k, k, 1, 1, 1, 1, pad, pad, out_hw, out_hw, 1,
                    -2**31, 2**31 - 1)
    out = np.zeros((out_hw, out_hw, words(oc)), np.uint32)
    lib.bnn_bconv2d_bits(ctypes.byref(p), ptr(pack_bits(x_neg)), ptr(pack_bits(w_neg)), ptr(thr),
                         ptr(out))
    np.testing.assert_array_equal(out, pack_bits(accum > thr))


@settings(max_examples=30, deadline=None)
@given(h=st.integers(2, 8), c=st.integers(1, 70), f=st.integers(1, 3), same=st.booleans(),
       seed=st.integers(0, 2**31))
def test_bmaxpool(lib, h, c, f, same, seed):
    if not same and f > h:
        return
    x_neg = np.random.default_rng(seed).random((h, h, c)) < 0.5
    out_hw, pad = _geometry(h, f, f, same)
    pm1 = np.where(x_neg, -1, 1)
    ref = np.zeros((out_hw, out_hw, c), np.int64)
    for oy in range(out_hw):
        for ox in range(out_hw):
            y0, x0 = oy * f - pad, ox * f - pad
            ref[oy, ox] = pm1[max(y0, 0):y0 + f, max(x0, 0):x0 + f].reshape(-1, c).max(axis=0)
    p = BpoolParams(h, h, c, f, f, f, f, pad, pad, out_hw, out_hw)
    out = np.zeros((out_hw, out_hw, words(c)), np.uint32)
    lib.bnn_bmaxpool(ctypes.byref(p), ptr(pack_bits(x_neg)), ptr(out))
    np.testing.assert_array_equal(out, pack_bits(ref < 0))
