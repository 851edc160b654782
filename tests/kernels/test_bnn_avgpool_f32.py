"""Float average pooling (bnn_avgpool_f32.c) against the op module's numpy
reference (0.0f + the taps inside the input in (ky, kx) order, / their count,
TFLite's activation clamp), bit for bit; and the generated C against LCE's
interpreter on converted Keras models, bit for bit."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops._geometry import out_size, same_pad
from bnnkit.ops.average_pool import ACTIVATIONS, avg_pool
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct

ACTS = tuple(ACTIVATIONS)


AvgPoolParams = ctypes_struct("bnn_avgpool_params")


def run_kernel(lib, x, filt, stride, padding, act):
    h, w, c = x.shape
    (fh, fw), (sh, sw) = filt, stride
    oh, ow = out_size(h, fh, sh, padding), out_size(w, fw, sw, padding)
    pt = same_pad(h, fh, sh, oh) if padding == "SAME" else 0
    pl = same_pad(w, fw, sw, ow) if padding == "SAME" else 0
    p = AvgPoolParams(h, w, c, fh, fw, sh, sw, pt, pl, oh, ow, ACTIVATIONS[act])
    # a guard of NaNs after the output: the kernel must write inside its shape only
    out = np.full(oh * ow * c + 16, np.nan, np.float32)
    lib.bnn_avgpool_f32(ctypes.byref(p), ptr(np.ascontiguousarray(x)), ptr(out))
    assert np.isnan(out[oh * ow * c:]).all()
    return out[:oh * ow * c].reshape(oh, ow, c)


def assert_bits_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a, np.float32).view(np.uint32),
                                  np.asarray(b, np.float32).view(np.uint32))


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12),
       c=st.one_of(st.integers(1, 5), st.integers(30, 70)),
       fh=st.integers(1, 6), fw=st.integers(1, 6), sh=st.integers(1, 3), sw=st.integers(1, 3),
       same=st.booleans(), act=st.sampled_from(ACTS), scale=st.sampled_from([1.0, 1e3, 1e-3]),
       seed=st.integers(0, 2**31))
def test_avgpool(lib, h, w, c, fh, fw, sh, sw, same, act, scale, seed):
    padding = "SAME" if same or fh > h or fw > w else "VALID"
    x = (np.random.default_rng(seed).normal(size=(h, w, c)) * scale).astype(np.float32)
    oh, ow = out_size(h, fh, sh, padding), out_size(w, fw, sw, padding)
    ref = avg_pool(x, (fh, fw), (sh, sw), padding, (oh, ow), ACTIVATIONS[act])
    assert_bits_equal(run_kernel(lib, x, (fh, fw), (sh, sw), padding, act), ref)


def test_avgpool_global_and_ds_cnn_windows(lib):
    """Global 4x4 and 1x1 pools on 512 channels, DS-CNN's (25, 5) pool."""
    rng = np.random.default_rng(0)
    for shape, filt in (((4, 4, 512), (4, 4)), ((1, 1, 512), (1, 1)), ((25, 5, 64), (25, 5))):
        x = rng.normal(size=shape).astype(np.float32)
        got = run_kernel(lib, x, filt, filt, "VALID", "NONE")
        assert_bits_equal(got, avg_pool(x, filt, filt, "VALID", (1, 1)))
        assert np.allclose(got[0, 0], x.reshape(-1, shape[2]).mean(0), rtol=1e-5, atol=1e-5)


def test_avgpool_reference_is_sum_in_ky_kx_order_then_divide():
    """The reference against a plain loop over one output (guards the numpy):
    SAME padding counts only the taps inside the input."""
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(5, 6, 3)) * 1e3).astype(np.float32)
    ref = avg_pool(x, (3, 3), (2, 2), "SAME", (3, 3))
    pt, pl = same_pad(5, 3, 2, 3), same_pad(6, 3, 2, 3)
    for oy in range(3):
        for ox in range(3):
            for ch in range(3):
                acc, n = np.float32(0), 0
                for ky in range(3):
                    for kx in range(3):
                        y, xx = oy * 2 - pt + ky, ox * 2 - pl + kx
                        if 0 <= y < 5 and 0 <= xx < 6:
                            acc, n = np.float32(acc + x[y, xx, ch]), n + 1
                assert np.float32(acc / np.float32(n)).view(np.uint32) == \
                    ref[oy, ox, ch].view(np.uint32)


def test_avgpool_clamp_infinities_and_nan(lib):
    """TFLite's clamp (measured on LCE's interpreter): a sum overflowing to inf
    gives FLT_MAX under NONE, NaN is kept, -0.0f inputs average to +0.0f."""
    x = np.full((2, 2, 4), 3e38, np.float32)
    x[0, 0, 1] = np.nan
    x[:, :, 2] = -3e38
    x[:, :, 3] = -0.0
    fmax = np.finfo(np.float32).max
    for act, want in (("NONE", [fmax, np.nan, -fmax, 0]), ("RELU", [fmax, np.nan, 0, 0]),
                      ("RELU6", [6, np.nan, 0, 0]), ("RELU_N1_TO_1", [1, np.nan, -1, 0])):
        got = run_kernel(lib, x, (2, 2), (2, 2), "VALID", act)
        assert_bits_equal(got, avg_pool(x, (2, 2), (2, 2), "VALID", (1, 1), ACTIVATIONS[act]))
        assert_bits_equal(got[0, 0], np.float32(want))


def _pool_models():
    """Converted models covering the kernel's cases: QuickNet / BiRealNet-like
    3x3 and 2x2 stride-2 SAME pools (odd sizes, cropped windows) with fused
    RELU6, RELU and a [-1, 1] clip; a VALID (2, 3) window with strides (1, 2);
    DS-CNN's (25, 5) pool; a global 4x4 pool on 512 channels."""
    from bnnkit.tfenv import keras, tf

    inp = keras.Input((13, 11, 70))
    x = keras.layers.AveragePooling2D(3, 2, padding="same")(inp)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.AveragePooling2D(2, 2, padding="same")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.AveragePooling2D((2, 3), (1, 2), padding="valid")(x)
    x = tf.clip_by_value(x, -1.0, 1.0)
    yield "birealnet_like", keras.Model(inp, x), (13, 11, 70), ["RELU6", "RELU", "RELU_N1_TO_1"]

    inp = keras.Input((49, 10, 13))
    x = keras.layers.AveragePooling2D((25, 5), padding="valid")(inp)
    yield "ds_cnn_like", keras.Model(inp, x), (49, 10, 13), ["NONE"]

    inp = keras.Input((4, 4, 512))
    x = keras.layers.AveragePooling2D(4)(inp)
    yield "global_4x4", keras.Model(inp, x), (4, 4, 512), ["NONE"]


def test_avgpool_bit_exact_with_lce(tmp_path):
    from bnnkit.convert import convert_model
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tflite_reader import parse_tflite

    for i, (name, model, shape, acts) in enumerate(_pool_models()):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(convert_model(model))
        ops = parse_tflite(path.read_bytes()).ops
        assert [op.options["activation"] for op in ops if op.type == "AVERAGE_POOL_2D"] == acts
        rng = np.random.default_rng(i)
        xs = (rng.normal(size=(20,) + shape) * rng.choice([1e-3, 1, 1e3], (20, 1, 1, 1)))
        c, ref, gen = compare_on_inputs(path, xs.astype(np.float32), build_dir=tmp_path)
        assert "bnn_avgpool_f32(" in "\n".join(s for _, st_ in gen.program.calls for s in st_)
        assert_bits_equal(c, ref)
