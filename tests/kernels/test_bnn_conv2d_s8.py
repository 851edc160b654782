"""bnn_conv2d_s8.c (int8 conv and fully connected) against its numpy reference:
its rows path (int8 and int16 rings) and patch path, built portable and with
the DSP instructions (SXTB16/SMLAD emulated on the host)."""

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bnnkit.ops._quant import quantize_multiplier
from bnnkit.ops.conv2d_s8 import (GROUP, conv_s8_reference, fast_requant, interleaved_s8,
                                  ring_layout, row_pairs_s8, row_pairs_s16, scratch_bytes_s8)
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct


ConvS8Params = ctypes_struct("bnn_conv2d_s8_params")


@pytest.fixture(scope="module", params=["lib", "lib_dsp"])
def klib(request):
    return request.getfixturevalue(request.param)


def run_conv(klib, x, w, bias, mult, shift, params, wide=False):
    """bnn_conv2d_s8 on x (H, W, C) int8 as bnnkit emits it (``wide``: for a
    core with SMLAD); a guard word after the scratch."""
    h, wd, ic = x.shape
    oc, kh, kw, _ = w.shape
    sh, sw = params["stride"]
    if params["padding"] == "SAME":
        conv_h, conv_w = -(-h // sh), -(-wd // sw)
        pt = max((conv_h - 1) * sh + kh - h, 0) // 2
        pl = max((conv_w - 1) * sw + kw - wd, 0) // 2
    else:
        conv_h, conv_w, pt, pl = (h - kh) // sh + 1, (wd - kw) // sw + 1, 0, 0
    ph, pw = params.get("pool") or (1, 1)
    words = -(-kh * kw * ic // 4)
    lo, hi = params["act"]
    if conv_h * conv_w == 1:
        ring = {"rows": 0, "len": 0, "wide": False, "scratch_bytes": scratch_bytes_s8(words * 4, oc)}
        wpacked = interleaved_s8(w.reshape(oc, -1))
    else:
        g = dict(c=ic, oc=oc, kh=kh, kw=kw, sh=sh, sw=sw, conv_h=conv_h, conv_w=conv_w,
                 pool=(ph, pw))
        ring = ring_layout(g, wide)
        wpacked = (row_pairs_s16 if wide else row_pairs_s8)(w)
    p = ConvS8Params(h, wd, ic, oc, kh, kw, sh, sw, pt, pl, conv_h, conv_w, ph, pw, words,
                     params["zp_in"], params["zp_out"], lo, hi, int(params["ties"] == "up"),
                     int(fast_requant(bias, kh * kw * ic, shift)), int(ring["wide"]),
                     ring["rows"], ring["len"])
    b = np.zeros(-(-oc // GROUP) * GROUP, np.int32)
    b[:oc] = bias
    scratch = np.full(ring["scratch_bytes"] // 4 + 1, 0x5A5A5A5A, np.uint32)
    out = np.zeros((conv_h // ph, conv_w // pw, oc), np.int8)
    xin = np.ascontiguousarray(x, np.int8)
    klib.bnn_conv2d_s8(ctypes.byref(p), ptr(xin), ptr(wpacked), ptr(b),
                       ptr(np.ascontiguousarray(mult, np.int32)),
                       ptr(np.ascontiguousarray(shift, np.int32)), ptr(scratch), ptr(out))
    assert scratch[-1] == 0x5A5A5A5A, "wrote past its scratch"
    return out


def _case(rng, h, ic, oc, k, stride, same, pool=None, zp_in=-128, relu=True, ties="up"):
    x = rng.integers(-128, 128, (h, h, ic)).astype(np.int8)
    w = rng.integers(-127, 128, (oc, k, k, ic)).astype(np.int8)
    bias = rng.integers(-5000, 5000, oc).astype(np.int64)
    # scales that put the accumulators' spread across the int8 range
    scale = 1.0 / (np.sqrt(k * k * ic) * 100)
    pairs = [quantize_multiplier(scale * rng.uniform(0.5, 2.0)) for _ in range(oc)]
    mult = np.array([m for m, _ in pairs], np.int32)
    shift = np.array([s for _, s in pairs], np.int32)
    params = {"stride": (stride, stride), "padding": "SAME" if same else "VALID", "pool": pool,
              "zp_in": zp_in, "zp_out": -5, "act": (-5 if relu else -128, 127), "ties": ties}
    return x, w, bias, mult, shift, params


@pytest.mark.parametrize("h,ic,oc,k,stride,same,pool", [
    (28, 1, 6, 5, 1, True, (2, 2)),     # LeNet conv1 fused with its pool
    (14, 6, 16, 5, 1, True, None),      # LeNet conv2
    (9, 3, 5, 3, 2, False, None),       # stride, VALID, a last group of 1
    (8, 7, 10, 3, 1, True, (2, 2)),     # patch not a multiple of 4 taps
    (9, 3, 7, 3, 1, True, (2, 2)),      # an odd column and row the pool drops, odd out_c
    (11, 2, 4, 3, 2, False, (2, 2)),    # stride with pool, VALID columns left over
    (5, 4, 6, 5, 1, False, None),       # one position: the patch path
    (1, 784, 120, 1, 1, False, None),   # a fully connected layer as a 1x1 conv
])
@pytest.mark.parametrize("wide", [False, True])
def test_conv_s8_matches_reference(klib, h, ic, oc, k, stride, same, pool, wide):
    rng = np.random.default_rng(h * 1000 + ic * 10 + oc)
    x, w, bias, mult, shift, params = _case(rng, h, ic, oc, k, stride, same, pool)
    got = run_conv(klib, x, w, bias, mult, shift, params, wide)
    want = conv_s8_reference(x, w, bias, mult, shift, params)
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(got)) > min(20, got.size // 2)  # spread over the int8 range


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 20), st.integers(1, 9), st.integers(1, 4),
       st.integers(1, 3), st.booleans(), st.integers(-128, 127), st.booleans(),
       st.integers(0, 2 ** 31), st.booleans(), st.sampled_from([None, (2, 2), (1, 2), (3, 1)]),
       st.sampled_from(["up", "away"]))
def test_conv_s8_any_shape(klib, h, ic, oc, k, stride, same, zp_in, relu, seed, wide, pool, ties):
    """Any shape, either reference's rounding (ties up: LCE; away: TFLite's
    reference kernels)."""
    if not same and k > h:
        return
    conv = -(-h // stride) if same else (h - k) // stride + 1
    if pool and (conv < pool[0] or conv < pool[1]):
        pool = None
    rng = np.random.default_rng(seed)
    x, w, bias, mult, shift, params = _case(rng, h, ic, oc, k, stride, same, pool, zp_in, relu,
                                            ties)
    np.testing.assert_array_equal(run_conv(klib, x, w, bias, mult, shift, params, wide),
                                  conv_s8_reference(x, w, bias, mult, shift, params))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-130, 129), st.sampled_from([0.0, 0.25, 0.5, 0.75]),
                          st.integers(-3, 3)), min_size=4, max_size=4),
       st.integers(2 ** 30, 2 ** 31 - 1), st.integers(-31, 8), st.booleans(),
       st.sampled_from(["up", "away"]))
def test_requantize_at_every_rounding(lib_dsp, targets, mult, shift, wrap, ties):
    """bnn_requant.h's single multiply-add form against TFLite's two-step
    arithmetic in numpy: accumulators placed on and around the ties of both
    roundings (and, with ``wrap``, anywhere in int32) for every shift. The
    bias alone is the accumulator when the input is all zeros."""
    from bnnkit.ops._quant import requantize

    rng = np.random.default_rng(mult + shift)
    scale = mult * 2.0 ** (shift - 31)  # result ~= acc * scale
    accs = [int(np.clip(round((r + f) / scale) + d, -2 ** 31, 2 ** 31 - 1))
            for r, f, d in targets]
    if wrap:
        accs[0] = int(rng.integers(-2 ** 31, 2 ** 31))
    n = len(accs)
    x = np.zeros((1, 1, 4), np.int8)
    w = np.ones((n, 1, 1, 4), np.int8)
    params = {"stride": (1, 1), "padding": "VALID", "pool": None, "zp_in": 0, "zp_out": 0,
              "act": (-128, 127), "ties": ties}
    mults, shifts = np.full(n, mult, np.int32), np.full(n, shift, np.int32)
    got = run_conv(lib_dsp, x, w, np.array(accs), mults, shifts, params).reshape(-1)
    want = np.clip(requantize(np.array(accs, np.int64), mults, shifts, ties), -128, 127)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-130, 129), st.sampled_from([0.0, 0.25, 0.5, 0.75]),
                          st.integers(-3, 3)), min_size=4, max_size=4),
       st.integers(2 ** 30, 2 ** 31 - 1), st.integers(-31, -1))
def test_short_requantize_at_every_rounding(lib_dsp, targets, mult, shift):
    """bnn_requantize_away_small (|acc| < 2^30, negative shifts: what
    fast_requant proves of a layer) against TFLite's two roundings in numpy,
    accumulators on and around the ties of both, every negative shift."""
    from bnnkit.ops._quant import requantize

    scale = mult * 2.0 ** (shift - 31)
    accs = [int(np.clip(round((r + f) / scale) + d, -2 ** 30 + 2 ** 17, 2 ** 30 - 2 ** 17))
            for r, f, d in targets]
    n = len(accs)
    x = np.zeros((1, 1, 4), np.int8)
    w = np.ones((n, 1, 1, 4), np.int8)
    params = {"stride": (1, 1), "padding": "VALID", "pool": None, "zp_in": 0, "zp_out": 0,
              "act": (-128, 127), "ties": "away"}
    mults, shifts = np.full(n, mult, np.int32), np.full(n, shift, np.int32)
    assert fast_requant(np.array(accs), 4, shifts)  # the short form is the one tested
    got = run_conv(lib_dsp, x, w, np.array(accs), mults, shifts, params).reshape(-1)
    want = np.clip(requantize(np.array(accs, np.int64), mults, shifts, "away"), -128, 127)
    np.testing.assert_array_equal(got, want)
