"""Float depthwise conv (bnn_depthwise_conv2d_f32.c) against the op module's
numpy reference (bias first, product and sum rounded separately, taps in (ky, kx)
order, padding taps skipped, TFLite's clamp), bit for bit; and the generated C
against LCE's interpreter on converted Keras models, bit for bit."""

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bnnkit.ops.depthwise_conv2d import ACTIVATIONS, depthwise_reference
from bnnkit.ops._geometry import out_size, same_pad
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

ACTS = tuple(ACTIVATIONS)


DwParams = ctypes_struct("bnn_depthwise_conv2d_params")


def run_kernel(lib, x, w, b, stride, dilation, padding, act):
    h, wd, c = x.shape
    _, kh, kw, oc = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = out_size(h, kh, sh, padding, dh), out_size(wd, kw, sw, padding, dw)
    pt = same_pad(h, (kh - 1) * dh + 1, sh, oh) if padding == "SAME" else 0
    pl = same_pad(wd, (kw - 1) * dw + 1, sw, ow) if padding == "SAME" else 0
    p = DwParams(h, wd, c, oc // c, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, ACTIVATIONS[act][0])
    # a guard of NaNs after the output: the kernel must write inside its shape only
    out = np.full(oh * ow * oc + 16, np.nan, np.float32)
    lib.bnn_depthwise_conv2d_f32(ctypes.byref(p), ptr(np.ascontiguousarray(x)),
                                 ptr(np.ascontiguousarray(w)), ptr(b), ptr(out))
    assert np.isnan(out[oh * ow * oc:]).all()
    return out[:oh * ow * oc].reshape(oh, ow, oc)


def assert_bits_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a, np.float32).view(np.uint32),
                                  np.asarray(b, np.float32).view(np.uint32))


@pytest.fixture(scope="module", params=["lib", "lib_clamp_bits"])
def dwlib(request):
    """The kernels with the compilers' clamp (the host, arm64) and with the
    32-bit cores' clamp decided on the bits."""
    return request.getfixturevalue(request.param)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 9), wd=st.integers(1, 9), c=st.one_of(st.integers(1, 5),
                                                              st.integers(15, 40)),
       dm=st.sampled_from([1, 1, 2, 3]), kh=st.integers(1, 5), kw=st.integers(1, 5),
       sh=st.integers(1, 3), sw=st.integers(1, 3), dil=st.integers(1, 2),
       same=st.booleans(), act=st.sampled_from(ACTS), seed=st.integers(0, 2**31))
def test_depthwise_conv2d(dwlib, h, wd, c, dm, kh, kw, sh, sw, dil, same, act, seed):
    padding = "SAME" if same else "VALID"
    if not same and (h < (kh - 1) * dil + 1 or wd < (kw - 1) * dil + 1):
        padding = "SAME"
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(h, wd, c)).astype(np.float32)
    w = rng.normal(size=(1, kh, kw, c * dm)).astype(np.float32)
    b = rng.normal(size=c * dm).astype(np.float32)
    ref = depthwise_reference(x, w, b, (sh, sw), (dil, dil), padding, act)
    got = run_kernel(dwlib, x, w, b, (sh, sw), (dil, dil), padding, act)
    assert_bits_equal(got, ref)


def test_depthwise_reference_is_mul_then_add_in_ky_kx_order():
    """The reference against a plain loop over one output (guards the numpy)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 6, 3)).astype(np.float32)
    w = rng.normal(size=(1, 3, 2, 6)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    ref = depthwise_reference(x, w, b, (2, 1), (1, 2), "SAME", "NONE")
    oh, ow = ref.shape[:2]
    pt, pl = same_pad(5, 3, 2, oh), same_pad(6, 3, 1, ow)
    for oy in range(oh):
        for ox in range(ow):
            for o in range(6):
                acc = b[o]
                for ky in range(3):
                    for kx in range(2):
                        y, xx = oy * 2 - pt + ky, ox - pl + 2 * kx
                        if 0 <= y < 5 and 0 <= xx < 6:
                            acc = np.float32(acc + np.float32(x[y, xx, o // 2] * w[0, ky, kx, o]))
                assert acc.view(np.uint32) == ref[oy, ox, o].view(np.uint32)


def test_depthwise_clamp_infinities_and_nan(dwlib):
    """TFLite's clamp: +-inf to +-FLT_MAX under NONE, NaN kept, RELU of -inf is 0
    (measured on LCE's interpreter); -0.0 (a -0.0 bias plus -0.0 products) kept,
    a negative value to +0.0 under RELU, a negative NaN kept."""
    x = np.zeros((3, 3, 7), np.float32)
    x[1, 1] = [np.inf, np.nan, -np.inf, 3e38, 0, -5, -np.nan]
    w = np.full((1, 3, 3, 7), 2, np.float32)  # 2 * 3e38 overflows to inf
    w[..., 4] = -2
    b = np.zeros(7, np.float32)
    b[4] = -0.0
    fmax = np.finfo(np.float32).max
    for act, want in (("NONE", [fmax, np.nan, -fmax, fmax, 0, -10, np.nan]),
                      ("RELU", [fmax, np.nan, 0, fmax, 0, 0, np.nan]),
                      ("RELU6", [6, np.nan, 0, 6, 0, 0, np.nan]),
                      ("RELU_N1_TO_1", [1, np.nan, -1, 1, 0, -1, np.nan])):
        got = run_kernel(dwlib, x, w, b, (1, 1), (1, 1), "SAME", act)
        assert_bits_equal(got, depthwise_reference(x, w, b, (1, 1), (1, 1), "SAME", act))
        np.testing.assert_array_equal(got[1, 1], np.float32(want))
        assert np.signbit(got[1, 1, 4]) and np.signbit(got[1, 1, 6])  # -0.0, -NaN


def _dw_models():
    """Converted models covering the kernel's cases: QuickNet's stride-2 stem
    conv without bias + batch norm (folded by LCE), multiplier 2 with RELU6,
    a 3x2 kernel with strides (1, 2) clipped to [-1, 1], DS-CNN's 3x3 SAME on
    64 channels with RELU, a dilated 5x5 VALID one with multiplier 3."""
    from bnnkit.public_models import randomize_batch_norms
    from bnnkit.tfenv import keras, tf

    inp = keras.Input((12, 11, 8))
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                     activation=tf.nn.relu6)(x)
    x = keras.layers.DepthwiseConv2D((3, 2), padding="valid", strides=(1, 2))(x)
    x = tf.clip_by_value(x, -1.0, 1.0)
    yield "quicknet_like", randomize_batch_norms(keras.Model(inp, x), seed=1), (12, 11, 8)

    inp = keras.Input((10, 5, 64))
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(inp)
    x = keras.layers.DepthwiseConv2D(5, padding="valid", dilation_rate=(2, 1),
                                     depth_multiplier=3)(x)
    yield "ds_cnn_like", keras.Model(inp, x), (10, 5, 64)

    # 40 channels: two 16-channel blocks (the M4's assembly, arm64's NEON) and an
    # 8-channel one (C); a dilated SAME window clipped at every border, then stride 2
    inp = keras.Input((9, 9, 40))
    x = keras.layers.DepthwiseConv2D(3, padding="same", dilation_rate=2)(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="valid", strides=2)(x)
    yield "dilated_40", keras.Model(inp, x), (9, 9, 40)


@pytest.mark.parametrize("target", ["host", "cortex-m4", "arm64"])
def test_depthwise_conv2d_bit_exact_with_lce(tmp_path, target):
    """LCE's bytes from the C loops (host), the Cortex-M4's VFP assembly and
    arm64's NEON blocks."""
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs

    for i, (name, model, shape) in enumerate(_dw_models()):
        rng = np.random.default_rng(i)
        for layer in model.layers:  # random weights and biases (Keras' biases start at 0)
            if layer.get_weights() and "batch_normalization" not in layer.name:
                layer.set_weights([rng.normal(size=v.shape).astype(np.float32)
                                   for v in layer.get_weights()])
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(convert_model(model))
        xs = rng.normal(size=(20 if target == "host" else 5,) + shape).astype(np.float32)
        c, ref, _ = compare_on_inputs(path, xs, target, build_dir=tmp_path)
        assert_bits_equal(c, ref)
