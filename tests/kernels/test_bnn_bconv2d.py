"""bnn_bconv2d.c and bnn_bmaxpool.c against numpy (+-1 convolutions)."""

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bnnkit.lower import pack_bits, words
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct


BconvParams = ctypes_struct("bnn_bconv2d_params")
RESIDUAL_ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}  # BNN_RESIDUAL_*


BpoolParams = ctypes_struct("bnn_bmaxpool_params")


class _Variant:
    """A kernel library and the weights' chunk (``chunk_words``) the test lays
    out for it; calls go to the library."""

    def __init__(self, lib, chunk):
        self.lib, self.chunk = lib, chunk

    def __getattr__(self, name):
        return getattr(self.lib, name)


@pytest.fixture(scope="module", params=["lib-3", "lib-4", "lib_swar-3", "lib_swar-4",
                                        "lib_swar-cortex-m4"])
def blib(request):
    """The kernels with the host's popcount and with the Cortex-M SWAR count
    (bnn_bconv2d.c counts three words across all channels there), each
    reading weights laid out in chunks of 3 words (32-bit cores) and of 4
    (arm64): a library made for one core runs on any; and the chunks as
    prepare picks them for the Cortex-M4 (a patch of one or two words whole)."""
    name, chunk = request.param.split("-", 1)
    return _Variant(request.getfixturevalue(name), chunk if "-" in chunk else int(chunk))


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


def _node(h, ic, oc, k, stride, same, one_padding, clamp, w_neg, consts, output="float",
          dilation=1, pool=None):
    """A lowered bconv2d node and the shapes around it, as the op module sees them."""
    from types import SimpleNamespace

    from bnnkit.ops import Node
    from bnnkit.ops.lce_bconv2d import accum_clamp

    eff = (k - 1) * dilation + 1
    out_hw = -(-h // stride) if same else (h - eff) // stride + 1
    node = Node("bconv2d", [0], [1], {
        "channels_in": ic, "out_channels": oc, "kernel": (k, k), "stride": (stride, stride),
        "dilation": (dilation, dilation), "padding": "SAME" if same else "VALID",
        "one_padding": one_padding, "clamp": accum_clamp(clamp, k * k * ic), "output": output,
        "pool": pool, "conv_out": (out_hw, out_hw)}, dict(consts, weights=pack_bits(w_neg)))
    out_c = words(oc) if output == "bits" else oc
    pooled = out_hw // pool[0] if pool else out_hw
    low = SimpleNamespace(shapes={0: (h, h, words(ic)), 1: (pooled, pooled, out_c)},
                          kinds={0: "bits", 1: output})
    return node, low


def _params(node, low, h):
    from bnnkit.ops.lce_bconv2d import LceBconv2d, chunk_words, patch_words

    p = node.params
    (oh, ow), (pt, pl) = low.shapes[1][:2], LceBconv2d().pads(node, low)
    return BconvParams(h, h, p["channels_in"], p["out_channels"], *p["kernel"], *p["stride"],
                       *p["dilation"], pt, pl, oh, ow, int(p["one_padding"]), *p["clamp"],
                       *(p["pool"] or (1, 1)), *p["conv_out"], patch_words(node),
                       chunk_words(node), RESIDUAL_ACT[p.get("residual_act", "NONE")])


def _run(lib, node, low, h, x_neg, out, residual=None):
    """bnn_bconv2d_bits / _f32 on x as the op module emits the call: weights
    interleaved, the padding correction tabulated, scratch as planned (with a
    guard word after it that must stay untouched)."""
    from bnnkit.ops.lce_bconv2d import LceBconv2d, interleaved_weights

    from bnnkit.targets import get_target

    op = LceBconv2d()
    chunk = getattr(lib, "chunk", 3)
    if isinstance(chunk, str):
        op.prepare(node, low, get_target(chunk))
    else:
        node.params["chunk_words"] = chunk
    w = interleaved_weights(node.consts["weights"], node.params["channels_in"],
                            node.params["chunk_words"])
    scratch = np.full(op.scratch_bytes(None, node) // 4 + 1, 0xA5A5A5A5, np.uint32)
    if node.params["output"] == "int8":
        lib.bnn_bconv2d_s8(ctypes.byref(_params(node, low, h)), ptr(pack_bits(x_neg)), ptr(w),
                           ptr(node.consts["multiplier"]), ptr(node.consts["bias"]),
                           ptr(scratch), ptr(out))
    elif node.params["output"] == "bits":
        lib.bnn_bconv2d_bits(ctypes.byref(_params(node, low, h)), ptr(pack_bits(x_neg)), ptr(w),
                             ptr(node.consts["threshold"]), ptr(scratch), ptr(out))
    else:
        table = op.padding_corrections(node, low)
        corr_at, corr = (None, None) if table is None else table
        args = [ctypes.byref(_params(node, low, h)), ptr(pack_bits(x_neg)), ptr(w),
                ptr(node.consts["multiplier"]), ptr(node.consts["bias"]),
                None if corr_at is None else ptr(corr_at), None if corr is None else ptr(corr)]
        if residual is None:
            lib.bnn_bconv2d_f32(*args, ptr(scratch), ptr(out))
        else:
            lib.bnn_bconv2d_add_f32(*args, ptr(residual), ptr(scratch), ptr(out))
    assert scratch[-1] == 0xA5A5A5A5


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 8), oc=st.integers(1, 40), k=st.integers(1, 3),
       # patches past ten triples of words are counted in chunks
       ic=st.one_of(st.integers(1, 70), st.integers(230, 260), st.just(16)),
       stride=st.integers(1, 2), same=st.booleans(), one_padding=st.booleans(),
       relu=st.booleans(), dilation=st.integers(1, 2), seed=st.integers(0, 2**31))
def test_bconv2d_float(blib, h, ic, oc, k, stride, same, one_padding, relu, dilation, seed):
    """LCE's float output transform, zero-padding correction included, against
    the op module's reference; the reference against an independent +-1 conv."""
    from bnnkit.ops.lce_bconv2d import LceBconv2d, output_transform

    if not same and (k - 1) * dilation + 1 > h:
        return
    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    m = rng.normal(size=oc).astype(np.float32)
    b = rng.normal(size=oc).astype(np.float32)
    mul, bias = output_transform(m, b, k * k * ic)
    clamp = (0, 2**31 - 1) if relu else (-2**31, 2**31 - 1)
    node, low = _node(h, ic, oc, k, stride, same, one_padding, clamp, w_neg,
                      {"multiplier": mul, "bias": bias}, dilation=dilation)
    expected = LceBconv2d().reference(node, [pack_bits(x_neg)], low)
    out = np.full(low.shapes[1], np.nan, np.float32)
    _run(blib, node, low, h, x_neg, out)
    np.testing.assert_array_equal(out, expected)
    # LCE clamps before its zero-padding correction (and refuses that combination),
    # and corrects nothing where a window overflows opposite sides of the input
    if dilation == 1 and not (relu and same and not one_padding) and k <= h - 1:
        # the reference is the +-1 convolution, up to float rounding
        out_hw, pad = _geometry(h, k, stride, same)
        dot = _reference_dot(np.where(x_neg, -1, 1), np.where(w_neg, -1, 1), stride, pad,
                             (out_hw, out_hw), 1 if one_padding else 0)
        if relu:
            dot = np.maximum(dot, 0)
        math = dot * m.astype(np.float64) + b
        # LCE's bias b + K*m cancels against 2*accum*m: errors scale with K*|m|
        np.testing.assert_allclose(expected, math, rtol=1e-5,
                                   atol=1e-6 * k * k * ic * (1 + np.abs(m).max()))


@settings(max_examples=30, deadline=None)
@given(h=st.integers(3, 7), oc=st.integers(1, 40), k=st.integers(1, 3),
       ic=st.one_of(st.integers(1, 70), st.just(256)), same=st.booleans(),
       one_padding=st.booleans(), act=st.sampled_from(sorted(RESIDUAL_ACT)),
       in_place=st.booleans(), seed=st.integers(0, 2**31))
def test_bconv2d_fused_residual(blib, h, oc, k, ic, same, one_padding, act, in_place, seed):
    """A residual ADD fused into the float binary conv: act(residual + conv),
    the ADD's one rounding and clamp, also when the output is written over
    the residual itself (the planner's in-place choice)."""
    from bnnkit.ops.elementwise import apply_op
    from bnnkit.ops.lce_bconv2d import LceBconv2d, output_transform

    if not same and k > h:
        return
    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    mul, bias = output_transform(rng.normal(size=oc).astype(np.float32),
                                 rng.normal(size=oc).astype(np.float32), k * k * ic)
    node, low = _node(h, ic, oc, k, 1, same, one_padding, (-2**31, 2**31 - 1), w_neg,
                      {"multiplier": mul, "bias": bias})
    node.params["residual_act"] = act
    residual = (rng.normal(size=low.shapes[1]) * 2 * k * k * ic).astype(np.float32)
    conv = LceBconv2d().reference(node, [pack_bits(x_neg)], low)
    expected = apply_op("add", residual, conv, act)
    assert (expected != conv + residual).any() or act == "NONE", "the clamp went untested"
    node.inputs = [0, 2]
    low.shapes[2] = low.shapes[1]
    np.testing.assert_array_equal(
        LceBconv2d().reference(node, [pack_bits(x_neg), residual], low), expected)
    out = residual.copy() if in_place else np.full(low.shapes[1], np.nan, np.float32)
    _run(blib, node, low, h, x_neg, out, out if in_place else residual)
    np.testing.assert_array_equal(out, expected)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 8), oc=st.integers(1, 40), k=st.integers(1, 3),
       ic=st.one_of(st.integers(1, 70), st.integers(230, 260), st.just(16)), stride=st.integers(1, 2),
       same=st.booleans(), relu=st.booleans(), pool=st.sampled_from([None, (2, 2)]),
       scale=st.sampled_from([0.5, 0.05, 1e-4]), zp=st.integers(-128, 127),
       seed=st.integers(0, 2**31))
def test_bconv2d_int8(blib, h, ic, oc, k, stride, same, relu, pool, scale, zp, seed):
    """LCE's int8 output transform (float, then round half away from zero and
    saturate), a fused max pool included, against the op module's reference;
    the reference against round(+-1 conv * m + b) / scale + zp. Multipliers of
    +-0.5 put values on exact ties; a tiny scale saturates."""
    from bnnkit.ops.lce_bconv2d import LceBconv2d, output_transform

    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    m = np.where(rng.random(oc) < 0.3, rng.choice([-0.5, 0.5], oc) * scale,
                 rng.normal(size=oc) * scale * 4).astype(np.float32)
    b = np.round(rng.normal(size=oc) * 20 * scale, 0).astype(np.float32)
    mul, bias = output_transform(m, b, k * k * ic, scale, zp)
    clamp = (0, 2**31 - 1) if relu else (-2**31, 2**31 - 1)
    out_hw, pad = _geometry(h, k, stride, same)
    if pool and out_hw < 2:
        pool = None
    node, low = _node(h, ic, oc, k, stride, same, True, clamp, w_neg,
                      {"multiplier": mul, "bias": bias}, "int8", pool=pool)
    expected = LceBconv2d().reference(node, [pack_bits(x_neg)], low)
    out = np.full(low.shapes[1], 99, np.int8)
    _run(blib, node, low, h, x_neg, out)
    np.testing.assert_array_equal(out, expected)
    dot = _reference_dot(np.where(x_neg, -1, 1), np.where(w_neg, -1, 1), stride, pad,
                         (out_hw, out_hw), 1)
    if relu:
        dot = np.maximum(dot, 0)
    real = (dot * m.astype(np.float64) + b) / np.float64(np.float32(scale)) + zp
    if pool:
        ph = out_hw // 2 * 2
        real = real[:ph, :ph].reshape(ph // 2, 2, ph // 2, 2, oc).max(axis=(1, 3))
    # float32 rounding can move a value across a tie: at most one step
    assert np.abs(expected.astype(np.int64) - np.clip(np.round(real), -128, 127)).max() <= 1


def test_bconv2d_int8_rounds_as_lce_on_x86(lib):
    """Ties away from zero, NaN and values past int32 to INT32_MIN (-128), as
    LCE's interpreter on x86 gives them (std::round, then cvttss2si)."""
    from bnnkit.ops.lce_bconv2d import round_saturate_s8

    v = np.float32([0.5, -0.5, 1.5, -1.5, 2.4999998, 126.5, 127.5, -128.5, 3e9, -3e9,
                    np.nan, np.inf, -np.inf, 2.0**31 - 128, 2.0**31, -2.0**31])
    assert round_saturate_s8(v).tolist() == [1, -1, 2, -2, 2, 127, 127, -128, -128, -128,
                                             -128, -128, -128, 127, -128, -128]
    k, oc, h, ic = 1, len(v), 1, 1
    node, low = _node(h, ic, oc, k, 1, False, True, (-2**31, 2**31 - 1),
                      np.zeros((oc, k, k, ic), bool),
                      {"multiplier": np.zeros(oc, np.float32), "bias": v}, "int8")
    out = np.zeros(low.shapes[1], np.int8)
    _run(lib, node, low, h, np.zeros((h, h, ic), bool), out)
    assert out.reshape(-1).tolist() == round_saturate_s8(v).tolist()


@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 8), oc=st.integers(1, 40), k=st.integers(1, 3),
       ic=st.one_of(st.integers(1, 70), st.integers(230, 260), st.just(16)),
       same=st.booleans(), seed=st.integers(0, 2**31))
def test_bconv2d_bits(blib, h, ic, oc, k, same, seed):
    """Bit output uses LCE's popcount thresholds; padding (if any) reads +1."""
    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    out_hw, pad = _geometry(h, k, 1, same)
    dot = _reference_dot(np.where(x_neg, -1, 1), np.where(w_neg, -1, 1), 1, pad,
                         (out_hw, out_hw), 1)
    accum = (k * k * ic - dot) // 2
    thr = rng.integers(-1, k * k * ic + 1, oc).astype(np.int32)
    node, low = _node(h, ic, oc, k, 1, same, True, (-2**31, 2**31 - 1), w_neg,
                      {"threshold": thr}, "bits")
    out = np.full((out_hw, out_hw, words(oc)), 0xDEADBEEF, np.uint32)
    _run(blib, node, low, h, x_neg, out)
    np.testing.assert_array_equal(out, pack_bits(accum > thr))


@pytest.mark.parametrize("ic", [16, 40, 64, 250])
def test_bconv2d_counts_at_their_largest(blib, ic):
    """Every input bit opposite its weight: each channel's count is K (up to
    2,250 here), past what one SWAR byte or one triple's bytes can hold."""
    from bnnkit.ops.lce_bconv2d import LceBconv2d, output_transform

    k, oc, h = 3, 5, 5
    x_neg = np.ones((h, h, ic), bool)
    w_neg = np.zeros((oc, k, k, ic), bool)
    mul, bias = output_transform(np.ones(oc, np.float32), np.zeros(oc, np.float32), k * k * ic)
    node, low = _node(h, ic, oc, k, 1, False, True, (-2**31, 2**31 - 1), w_neg,
                      {"multiplier": mul, "bias": bias})
    out = np.full(low.shapes[1], np.nan, np.float32)
    _run(blib, node, low, h, x_neg, out)
    np.testing.assert_array_equal(out, LceBconv2d().reference(node, [pack_bits(x_neg)], low))
    assert (out == -k * k * ic).all()  # the +-1 dot product: every product -1


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


@settings(max_examples=30, deadline=None)
@given(h=st.integers(4, 9), oc=st.integers(1, 40), k=st.integers(1, 3), ic=st.integers(1, 70),
       same=st.booleans(), bits=st.booleans(), pool=st.integers(2, 3), seed=st.integers(0, 2**31))
def test_bconv2d_fused_max_pool(blib, h, ic, oc, k, same, bits, pool, seed):
    """A fused non-overlapping max pool equals the op's reference: the float max
    of the conv outputs, or the AND of the output bits."""
    from bnnkit.ops.lce_bconv2d import LceBconv2d, output_transform

    out_hw = h if same else h - k + 1
    if out_hw < pool:
        return
    rng = np.random.default_rng(seed)
    x_neg = rng.random((h, h, ic)) < 0.5
    w_neg = rng.random((oc, k, k, ic)) < 0.5
    if bits:
        consts = {"threshold": rng.integers(0, k * k * ic + 1, oc).astype(np.int32)}
    else:
        mul, bias = output_transform(rng.normal(size=oc), rng.normal(size=oc), k * k * ic)
        consts = {"multiplier": mul, "bias": bias}
    node, low = _node(h, ic, oc, k, 1, same, True, (-2**31, 2**31 - 1), w_neg, consts,
                      "bits" if bits else "float", pool=(pool, pool))
    expected = LceBconv2d().reference(node, [pack_bits(x_neg)], low)
    if bits:
        out = np.full(low.shapes[1], 0xDEADBEEF, np.uint32)
    else:
        out = np.full(low.shapes[1], np.nan, np.float32)
    _run(blib, node, low, h, x_neg, out)
    np.testing.assert_array_equal(out, expected)


def test_bconv2d_float_bit_exact_with_lce(tmp_path):
    """Larq's QuantConv2D (zero and one padding, SAME and VALID, with its batch
    norm fused) through LCE: the generated C gives LCE's interpreter's bytes."""
    from bnnkit.convert import convert_model
    from bnnkit.public_models import randomize_batch_norms
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras, lq

    # (9x9 inputs, and 2x2 / 3x3 ones whose windows overflow opposite sides: LCE
    # corrects nothing there, and bnnkit does the same)
    for pad_values, padding, ic, oc, k, stride, h in ((0.0, "same", 16, 20, 3, 1, 9),
                                                      (1.0, "same", 3, 40, 3, 2, 9),
                                                      (0.0, "valid", 70, 8, 5, 1, 9),
                                                      (0.0, "same", 40, 12, 3, 1, 2),
                                                      (0.0, "same", 8, 12, 5, 2, 3)):
        inp = keras.Input((h, h, ic))
        x = lq.layers.QuantConv2D(oc, k, strides=stride, padding=padding, pad_values=pad_values,
                                  input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                                  use_bias=False)(inp)
        x = keras.layers.BatchNormalization()(x)
        model = randomize_batch_norms(keras.Model(inp, x), seed=ic)
        path = tmp_path / f"bconv_{ic}.tflite"
        path.write_bytes(convert_model(model))
        xs = np.random.default_rng(ic).uniform(-1, 1, (20, h, h, ic)).astype(np.float32)
        c, ref, _ = compare_on_inputs(path, xs, build_dir=tmp_path)
        np.testing.assert_array_equal(c, ref)


# bnn_bconv2d.c's three calls on pseudo-random shapes and data, the same on any
# core: every output written to the file argv[1]. Multipliers and biases hit
# ties (multiples of 0.5), NaN, values past int32 and NaN at some positions of
# a channel only (where x * m overflows, inf - inf).
_NEON_HARNESS = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "bnn_kernels.h"

static uint32_t state = 12345u;
static uint32_t next(void) { state ^= state << 13; state ^= state >> 17; state ^= state << 5; return state; }
static float any_float(int32_t k)
{
    switch (next() % 8) {
    case 0: return (float)((int32_t)(next() % 9) - 4) * 0.5f;
    case 1: return next() % 4 ? 1e10f : NAN;
    default: return ((float)(next() % 20001) - 10000.0f) / (float)(1 + next() % 2000) / (float)(k + 1);
    }
}

int main(int argc, char **argv)
{
    /* in_hw, in_c, out_c, k, stride, pool, one_padding, same */
    static const int32_t shapes[][8] = {
        {5, 64, 8, 3, 1, 1, 0, 1},   {6, 64, 16, 3, 1, 2, 1, 1}, {4, 96, 13, 3, 2, 1, 0, 1},
        {3, 33, 4, 1, 1, 1, 1, 0},   {7, 200, 1, 3, 1, 1, 0, 1}, {5, 17, 21, 2, 1, 2, 1, 0},
        {4, 512, 12, 3, 1, 1, 0, 1}, {9, 32, 40, 3, 2, 2, 1, 1}, {1, 131200, 9, 1, 1, 1, 1, 0},
        {1, 131200, 4, 1, 1, 1, 1, 0}, {7, 16, 24, 3, 1, 1, 1, 1},  {8, 16, 9, 3, 2, 2, 0, 1}};
    FILE *out = fopen(argv[1], "wb");
    size_t s;
    long nan = 0, saturated = 0;
    (void)argc;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int32_t *d = shapes[s], hw = d[0], ic = d[1], oc = d[2], k = d[3], st = d[4];
        const int32_t same = d[7], conv = same ? (hw + st - 1) / st : (hw - k) / st + 1;
        const int32_t pad = same ? ((conv - 1) * st + k - hw) / 2 : 0;
        const int32_t kw = BNN_WORDS(k * k * ic), patch = 4 * ((kw + 3) / 4), ow = conv / d[5];
        const int32_t n_in = hw * hw * BNN_WORDS(ic), n_out = ow * ow * oc, sets = 3;
        bnn_bconv2d_params p = {hw, hw, ic, oc, k, k, st, st, 1, 1, pad, pad, ow, ow, d[6],
                                -2 * k * k * ic + 2 * (int32_t)(next() % 3), INT32_MAX,
                                d[5], d[5], conv, conv, patch, 4, BNN_RESIDUAL_NONE};
        uint32_t *in = malloc(4 * (size_t)n_in), *w = malloc(4 * (size_t)patch * oc);
        uint32_t *scratch = malloc(4 * ((size_t)patch + 2 * oc)), *bits = malloc(4 * (size_t)n_out);
        float *m = malloc(4 * (size_t)oc), *b = malloc(4 * (size_t)oc), *f = malloc(4 * (size_t)n_out);
        int32_t *thr = malloc(4 * (size_t)oc), *corr = malloc(4 * (size_t)sets * oc), i;
        uint16_t *corr_at = malloc(2 * (size_t)conv * conv);
        int8_t *q = malloc((size_t)n_out);
        /* the long patches every bit opposite its weight: the largest counts */
        for (i = 0; i < n_in; i++) in[i] = ic > 100000 ? ~0u : next();
        for (i = 0; i < patch * oc; i++) { /* bits past the K taps' bits are 0, as bnnkit pads */
            const int32_t left = k * k * ic - 32 * (i / (4 * oc) * 4 + i % 4);
            w[i] = ic > 100000 || left <= 0 ? 0u : next() & (left >= 32 ? ~0u : (1u << left) - 1u);
        }
        for (i = 0; i < oc; i++) {
            m[i] = any_float(k * k * ic);
            b[i] = any_float(k * k * ic);
            if (next() % 4 == 0) { /* x * m overflows where x > K: NaN there (inf - inf), else -inf */
                m[i] = 3.4e38f / (float)(k * k * ic);
                b[i] = -INFINITY;
            }
            thr[i] = (int32_t)(next() % (uint32_t)(k * k * ic + 2)) - 1;
        }
        for (i = 0; i < sets * oc; i++) corr[i] = (int32_t)(next() % 41) - 20;
        for (i = 0; i < conv * conv; i++) corr_at[i] = (uint16_t)(next() % (sets + 1));
        bnn_bconv2d_f32(&p, in, w, m, b, d[6] ? NULL : corr_at, corr, scratch, f);
        for (i = 0; i < n_out; i++) /* a NaN made by inf - inf: x86's has the sign bit, Arm's not */
            if (f[i] != f[i]) { f[i] = NAN; nan++; }
        fwrite(f, 4, (size_t)n_out, out);
        p.clamp_min = -k * k * ic; /* LCE: no fused activation with int8 output here */
        bnn_bconv2d_s8(&p, in, w, m, b, scratch, q);
        fwrite(q, 1, (size_t)n_out, out);
        for (i = 0; i < n_out; i++) saturated += q[i] == 127 || q[i] == -128;
        bnn_bconv2d_bits(&p, in, w, thr, scratch, bits);
        fwrite(bits, 4, (size_t)(ow * ow * BNN_WORDS(oc)), out);
        free(in); free(w); free(scratch); free(bits); free(m); free(b); free(f); free(thr);
        free(corr); free(corr_at); free(q);
    }
    { /* LceQuantize (bnn_quantize.c: NEON on arm64) with and without its batch norm */
        static const float special[] = {NAN, -0.0f, 0.0f, INFINITY, -INFINITY, -1e-45f, 1e-45f};
        static const int32_t widths[] = {32, 64, 70, 5};
        float x[3 * 70], m[70], a[70];
        uint32_t words[3 * 3];
        int32_t i, j, v;
        for (j = 0; j < 4; j++) {
            for (i = 0; i < 3 * 70; i++)
                x[i] = next() % 5 ? any_float(9) : special[next() % 7];
            for (i = 0; i < 70; i++) {
                m[i] = next() % 5 ? any_float(9) : special[next() % 7];
                a[i] = next() % 5 ? any_float(9) : special[next() % 7];
            }
            for (v = 0; v < 4; v++) {
                bnn_quantize_f32(x, 3, widths[j], v & 1 ? m : NULL, v & 2 ? a : NULL, words);
                fwrite(words, 4, (size_t)(3 * BNN_WORDS(widths[j])), out);
            }
        }
    }
    printf("%ld NaN, %ld saturated\n", nan, saturated);
    return fclose(out) != 0;
}
"""


def test_neon_binary_conv_gives_the_portable_bytes(tmp_path):
    """arm64's NEON count (eight and four channels per pass, the last one to
    three alone, passes of 1,023 chunks on a 131,200-bit patch) and its NEON
    LceQuantize (32 signs per word, with and without the batch norm) give the
    bytes of the portable C on this host (which the kernel tests check against
    numpy), on shapes and values chosen to reach every path: pools,
    zero-padding corrections, ties, NaN, -0.0, values past int32."""
    import subprocess

    from bnnkit.targets import RUNTIME_DIR, get_target

    kernels = RUNTIME_DIR / "kernels"
    (tmp_path / "harness.c").write_text(_NEON_HARNESS)
    srcs = [str(tmp_path / "harness.c"), str(kernels / "bnn_bconv2d.c"),
            str(kernels / "bnn_quantize.c")]
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-I", str(kernels)]
    subprocess.run(["gcc", *flags, "-o", str(tmp_path / "host"), *srcs, "-lm"], check=True)
    arm64 = get_target("arm64")
    subprocess.run([arm64.cc, *flags, "-static", "-o", str(tmp_path / "arm64"), *srcs, "-lm"],
                   check=True)
    seen = subprocess.run([str(tmp_path / "host"), str(tmp_path / "host.bin")], check=True,
                          capture_output=True, text=True).stdout.split()
    subprocess.run([arm64.emulator, str(tmp_path / "arm64"), str(tmp_path / "arm64.bin")],
                   check=True)
    host, neon = (tmp_path / "host.bin").read_bytes(), (tmp_path / "arm64.bin").read_bytes()
    assert len(host) > 5000 and host == neon
    assert int(seen[0]) > 0 and int(seen[2]) > 0  # the NaN and saturation paths were reached
