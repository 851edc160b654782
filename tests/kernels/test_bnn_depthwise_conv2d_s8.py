"""bnn_depthwise_conv2d_s8.c (int8 depthwise conv) against its numpy reference
(ops/depthwise_conv2d_s8.py) on odd shapes, strides, dilations, both
paddings, depth multipliers, exact rounding ties and the largest sums
lowering accepts; and the generated C of a converted Keras model against
LCE's interpreter, bit for bit."""

import ctypes

import numpy as np
import pytest

from helpers import power_of_two_scales
from hypothesis import given, settings, strategies as st

from bnnkit.ops._quant import quantize_f32, quantize_multiplier, requantize
from bnnkit.ops.conv2d_s8 import fast_requant
from bnnkit.ops.depthwise_conv2d_s8 import (depthwise_s8_reference, padded_rows,
                                           padded_rows_scratch, up_channels, window)
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

GUARD = 16  # bytes after the output that the kernel must not touch


DwS8Params = ctypes_struct("bnn_depthwise_conv2d_s8_params")


def run_dw(lib, x, w, bias, mult, shift, params):
    """bnn_depthwise_conv2d_s8 on x (H, W, C) with w (1, kh, kw, C * m) as
    bnnkit emits it; the input is copied into a buffer of exactly its size and
    guard bytes follow the output."""
    h, wd, c = x.shape
    _, kh, kw, oc = w.shape
    oh, ow, pt, pl = window(h, wd, kh, kw, params["stride"], params["dilation"],
                            params["padding"])
    lo, hi = params["act"]
    padded = int(padded_rows(kh, kw, oc // c, *params["dilation"]))
    p = DwS8Params(h, wd, c, oc // c, kh, kw, *params["stride"], *params["dilation"], pt, pl,
                   oh, ow, params["zp_in"], params["zp_out"], lo, hi, params["up_channels"],
                   padded, int(fast_requant(bias, kh * kw, shift)))
    scratch_bytes = padded_rows_scratch({"padded_rows": padded, "out_w": ow,
                                         "stride_w": params["stride"][1], "in_c": c})
    scratch = np.full(scratch_bytes // 4 + 1, 0x5A5A5A5A, np.uint32)  # a guard word after
    out = np.full(oh * ow * oc + GUARD, 0x55, np.uint8)
    xin = np.ascontiguousarray(x, np.int8).copy()
    lib.bnn_depthwise_conv2d_s8(ctypes.byref(p), ptr(xin), ptr(np.ascontiguousarray(w, np.int8)),
                                ptr(np.ascontiguousarray(bias, np.int32)),
                                ptr(np.ascontiguousarray(mult, np.int32)),
                                ptr(np.ascontiguousarray(shift, np.int32)),
                                ptr(scratch) if padded else None, ptr(out))
    assert (out[oh * ow * oc:] == 0x55).all(), "wrote past its output"
    assert scratch[-1] == 0x5A5A5A5A, "wrote past its scratch"
    np.testing.assert_array_equal(xin, x)  # the input is left as it was
    return out[:oh * ow * oc].view(np.int8).reshape(oh, ow, oc)


def fold(bias, w, zp_in):
    """bias - zp_in * sum(w) per output channel, as lowering folds it."""
    return np.asarray(bias, np.int64) - zp_in * w.reshape(-1, w.shape[3]).astype(np.int64).sum(0)


def _params(stride, dilation, same, zp_in, zp_out, act, oc):
    return {"stride": stride, "dilation": dilation, "padding": "SAME" if same else "VALID",
            "zp_in": zp_in, "zp_out": zp_out, "act": act, "up_channels": up_channels(oc)}


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 7), st.sampled_from([1, 1, 2, 3, 5]),
       st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from([(1, 1), (1, 1), (2, 1), (1, 3), (2, 2)]), st.booleans(),
       st.integers(-128, 127), st.integers(-128, 127), st.booleans(), st.integers(0, 2 ** 31))
def test_dw_s8_any_shape(lib, h, wd, c, dm, kh, kw, sh, sw, dil, same, zp_in, zp_out, relu,
                         seed):
    if not same and ((kh - 1) * dil[0] + 1 > h or (kw - 1) * dil[1] + 1 > wd):
        return  # VALID with a window larger than the input: no output (lowering refuses it)
    rng = np.random.default_rng(seed)
    oc = c * dm
    x = rng.integers(-128, 128, (h, wd, c)).astype(np.int8)
    w = rng.integers(-128, 128, (1, kh, kw, oc)).astype(np.int8)
    bias = fold(rng.integers(-20000, 20000, oc), w, zp_in)
    # multipliers that spread the sums over the int8 range, some scales >= 1 (left shifts)
    scale = 1.0 / (np.sqrt(kh * kw) * 80) * 2.0 ** rng.integers(-2, 3, oc)
    if rng.random() < 0.2:
        scale = rng.uniform(0.5, 8.0, oc)
    pairs = [quantize_multiplier(float(s)) for s in scale]
    mult = np.array([m for m, _ in pairs], np.int32)
    shift = np.array([s for _, s in pairs], np.int32)
    act = (max(zp_out, -128), 127) if relu else (-128, 127)
    params = _params((sh, sw), dil, same, zp_in, zp_out, act, oc)
    got = run_dw(lib, x, w, bias, mult, shift, params)
    np.testing.assert_array_equal(got, depthwise_s8_reference(x, w, bias, mult, shift, params))


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 70), st.integers(1, 3),
       st.integers(1, 3), st.booleans(), st.integers(-128, 127), st.sampled_from([0, -1]),
       st.integers(0, 2 ** 31))
def test_dw_s8_3x3_padded_rows(lib, h, wd, c, sh, sw, same, zp_in, up, seed):
    """The 3x3, depth multiplier 1 path (zero-point padded rows in scratch,
    nine unrolled taps): the reference's sums for any size, channel count
    (whole groups of 4 and a rest), stride and padding, either rounding."""
    if not same and (h < 3 or wd < 3):
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (h, wd, c)).astype(np.int8)
    w = rng.integers(-128, 128, (1, 3, 3, c)).astype(np.int8)
    bias = fold(rng.integers(-20000, 20000, c), w, zp_in)
    pairs = [quantize_multiplier(float(s)) for s in 1.0 / 240 * 2.0 ** rng.integers(-2, 3, c)]
    mult = np.array([m for m, _ in pairs], np.int32)
    shift = np.array([s for _, s in pairs], np.int32)
    params = _params((sh, sw), (1, 1), same, zp_in, 3, (-128, 127), c)
    if up == 0:
        params["up_channels"] = 0  # TFLite's reference kernels: every tie away from zero
    got = run_dw(lib, x, w, bias, mult, shift, params)
    np.testing.assert_array_equal(got, depthwise_s8_reference(x, w, bias, mult, shift, params))


@pytest.mark.parametrize("c,dm", [(13, 1), (5, 2), (3, 7), (1, 12), (24, 1)])
@pytest.mark.parametrize("same", [True, False])
def test_dw_s8_rounding_ties(lib, c, dm, same):
    """Power-of-two multipliers (2^30 with shifts -1..-5): every other sum is an
    exact tie of the high multiply and many are exact ties of the shift, where
    the channels below up_channels (ties toward +inf) and the others (away from
    zero) differ on negative sums; the kernel must follow each channel's rule."""
    rng = np.random.default_rng(c * 100 + dm + same)
    oc = c * dm
    x = rng.integers(-128, 128, (9, 8, c)).astype(np.int8)
    w = rng.integers(-4, 5, (1, 3, 3, oc)).astype(np.int8)  # small sums: ties are frequent
    zp_in = int(rng.integers(-128, 128))
    bias = fold(rng.integers(-300, 300, oc), w, zp_in)
    mult = np.full(oc, 1 << 30, np.int32)
    shift = rng.integers(-5, 0, oc).astype(np.int32)
    params = _params((1, 2), (1, 1), same, zp_in, 3, (-128, 127), oc)
    got = run_dw(lib, x, w, bias, mult, shift, params)
    np.testing.assert_array_equal(got, depthwise_s8_reference(x, w, bias, mult, shift, params))
    # a test of the ties: one rule for every channel gives other bytes
    if oc % 8:  # some channels round ties away
        assert (depthwise_s8_reference(x, w, bias, mult, shift, dict(params, up_channels=oc))
                != got).any()
    if oc >= 8:  # some round them up
        assert (depthwise_s8_reference(x, w, bias, mult, shift, dict(params, up_channels=0))
                != got).any()


def test_dw_s8_largest_sums(lib):
    """The largest sums lowering accepts: a bias near the int32 limit, extreme
    inputs and weights on a 5x5 window that overhangs the input, left shifts
    that wrap as TFLite's do."""
    c, dm, k = 3, 3, 5
    oc = c * dm
    x = np.full((4, 5, c), -128, np.int8)
    x[1::2] = 127
    w = np.where(np.arange(k * k * oc).reshape(1, k, k, oc) % 3 == 0, -128, 127).astype(np.int8)
    zp_in = 127
    limit = 2 ** 31 - 1 - k * k * 255 * 128  # lowering: |bias| and |folded| + this
    folded = np.array([limit - 500_000, 500_000 - limit] * 4 + [0])[:oc]
    bias = folded + zp_in * w.reshape(-1, oc).astype(np.int64).sum(0)  # the file's bias
    assert max(np.abs(bias).max(), np.abs(folded).max()) <= limit
    mult = np.full(oc, (1 << 31) - 1, np.int32)
    shift = np.array([-31, -20, -8, 0, 1, 2, 4, 30, -1])[:oc].astype(np.int32)
    params = _params((1, 1), (1, 1), True, zp_in, -1, (-128, 127), oc)
    got = run_dw(lib, x, w, folded, mult, shift, params)
    np.testing.assert_array_equal(got, depthwise_s8_reference(x, w, folded, mult, shift, params))
    assert len(np.unique(got)) > 3


def test_reference_is_tflites_sum():
    """The reference's folded sums over a zero-point padded input equal
    TFLite's: bias + sum of (x - zp_in) * w over the taps inside the input,
    requantized with TFLite's rule per channel."""
    rng = np.random.default_rng(7)
    h, wd, c, dm, kh, kw = 5, 6, 2, 3, 3, 2
    oc = c * dm
    x = rng.integers(-128, 128, (h, wd, c)).astype(np.int8)
    w = rng.integers(-127, 128, (1, kh, kw, oc)).astype(np.int8)
    bias, zp_in = rng.integers(-999, 999, oc), 17
    stride, dil = (2, 1), (1, 2)
    oh, ow, pt, pl = window(h, wd, kh, kw, stride, dil, "SAME")
    acc = np.zeros((oh, ow, oc), np.int64) + bias
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * stride[0] - pt + ky * dil[0], ox * stride[1] - pl + kx * dil[1]
                    if 0 <= iy < h and 0 <= ix < wd:
                        acc[oy, ox] += ((np.repeat(x[iy, ix], dm).astype(np.int64) - zp_in)
                                        * w[0, ky, kx])
    mult, shift = np.full(oc, 1 << 30, np.int32), np.full(oc, -3, np.int32)
    params = _params(stride, dil, True, zp_in, 0, (-128, 127), oc)
    want = np.clip(requantize(acc, mult, shift, "away"), -128, 127)  # oc < 8: all away
    got = depthwise_s8_reference(x, w, fold(bias, w, zp_in), mult, shift, params)
    np.testing.assert_array_equal(got, want)


def test_converted_keras_model_matches_interpreter(monkeypatch, tmp_path):
    """TensorFlow's full-integer converter on a tiny Keras model with two int8
    depthwise layers (10 channels: 8 rounding ties up, 2 away; then a depth
    multiplier of 2, stride 2: 16 and 4), scales made powers of two so that
    rounding ties are frequent: the generated C on the host gives LCE's
    interpreter's bytes with --reference lce, and TFLite's reference kernels'
    (every channel's ties away from zero) by default."""
    from bnnkit import convert as cv
    from bnnkit.lower import lower
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tflite_reader import parse_tflite
    from bnnkit.tfenv import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((12, 10, 3))
    y = keras.layers.Conv2D(10, 3, padding="same")(inp)
    y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
    y = keras.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2)(y)
    y = keras.layers.Dense(10)(keras.layers.Flatten()(y))
    model = keras.Model(inp, y)
    x = np.random.default_rng(4).uniform(-1, 1, (24, 12, 10, 3)).astype(np.float32)
    monkeypatch.setattr(cv, "_calibration_inputs", lambda *a, **k: x)
    fb = power_of_two_scales(cv.convert_int8(model, {}, "dw_s8", len(x)))
    path = tmp_path / "dw_s8.tflite"
    path.write_bytes(fb)
    graph = parse_tflite(fb, "dw_s8")
    dws = [n for n in lower(graph, "dw_s8", reference="lce").nodes
           if n.kind == "depthwise_conv2d_s8"]
    assert [(n.params["depth_multiplier"], n.params["up_channels"]) for n in dws] == [(1, 8),
                                                                                      (2, 16)]
    assert [n.params["up_channels"] for n in lower(graph, "dw_s8").nodes
            if n.kind == "depthwise_conv2d_s8"] == [0, 0]
    assert all((n.consts["mult"] == 1 << 30).all() for n in dws)  # ties are frequent
    # without a sidecar an int8 model's generated API takes its int8 input as is
    t = graph.tensor(graph.inputs[0])
    xq = quantize_f32(x, float(t.scale[0]), int(t.zero_point[0]))
    c, lce, _ = compare_on_inputs(path, xq, target="host", build_dir=tmp_path / "lce",
                                  reference="lce")
    np.testing.assert_array_equal(c, lce)
    assert lce.shape == (len(x), 10) and len(np.unique(lce, axis=0)) == len(x)
    c, ref, gen = compare_on_inputs(path, xq, target="host", build_dir=tmp_path / "ref")
    assert gen.low.reference == "tflite"
    np.testing.assert_array_equal(c, ref)
    assert not np.array_equal(ref, lce)  # the ties: the two references differ here
