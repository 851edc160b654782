"""bnn_avgpool_s8.c (int8 AVERAGE_POOL_2D) against its numpy reference in
ops/average_pool_s8.py, and one tiny Keras model (int8 average pools, the
spatial keep_dims MEAN and Keras' GlobalAveragePooling2D MEAN) converted with
TensorFlow's full-integer converter, compared with LCE's interpreter bit for
bit through the generated C."""

import ctypes

import numpy as np
from hypothesis import given, settings, strategies as st

from bnnkit.ops._geometry import window_layout
from bnnkit.ops.average_pool_s8 import avgpool_s8_reference
from kernels.kernel_lib import ptr
from bnnkit.kernel_structs import ctypes_struct


PoolParams = ctypes_struct("bnn_maxpool_params")


def run_pool(lib, x, filt, stride, padding, act):
    """bnn_avgpool_s8 on x (H, W, C) as bnnkit emits it; a guard after the output."""
    h, w, c = x.shape
    oh, ow, pt, pl = window_layout(h, w, filt[0], filt[1], stride, padding)
    p = PoolParams(h, w, c, filt[0], filt[1], stride[0], stride[1], pt, pl, oh, ow, 0)
    out = np.full(oh * ow * c + 8, 0x5A, np.int8)
    xin = np.ascontiguousarray(x, np.int8)
    lib.bnn_avgpool_s8(ctypes.byref(p), act[0], act[1], ptr(xin), ptr(out))
    assert (out[oh * ow * c:] == 0x5A).all(), "wrote past its output"
    return out[:oh * ow * c].reshape(oh, ow, c), (oh, ow)


@settings(max_examples=150, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 40),
       fh=st.integers(1, 5), fw=st.integers(1, 5), sh=st.integers(1, 3), sw=st.integers(1, 3),
       same=st.booleans(), small=st.booleans(), lo=st.integers(-128, 127),
       hi=st.integers(-128, 127), clamp=st.booleans(), seed=st.integers(0, 2 ** 31))
def test_avgpool_s8_any_window(lib, h, w, c, fh, fw, sh, sw, same, small, lo, hi, clamp, seed):
    if not same and (fh > h or fw > w):
        return  # lowering refuses VALID windows larger than the input
    act = (min(lo, hi), max(lo, hi)) if clamp else (-128, 127)
    rng = np.random.default_rng(seed)
    # small values: many sums exactly halfway, negative ones included
    x = (rng.integers(-3, 4, (h, w, c)) if small else rng.integers(-128, 128, (h, w, c)))
    x = x.astype(np.int8)
    padding = "SAME" if same else "VALID"
    got, out_hw = run_pool(lib, x, (fh, fw), (sh, sw), padding, act)
    np.testing.assert_array_equal(got, avgpool_s8_reference(x, (fh, fw), (sh, sw), padding,
                                                            out_hw, act))


def test_avgpool_s8_rounds_half_away_from_zero(lib):
    x = np.array([1, 1, -1, -1, 3, 0, -3, 0, 2, 0, -2, 0], np.int8).reshape(1, 12, 1)
    got, _ = run_pool(lib, x, (1, 2), (1, 2), "VALID", (-128, 127))
    assert got.reshape(-1).tolist() == [1, -1, 2, -2, 1, -1]  # 1, -1, 1.5, -1.5, 1, -1


def test_keras_model_matches_interpreter(monkeypatch, tmp_path):
    """Keras AveragePooling2D (VALID and SAME), GlobalAveragePooling2D with
    keepdims (TFLite's spatial int8 mean, 20 channels: a vector block and a
    tail) and without (QuantizedMeanOrSum), full-integer converted; the
    generated C equals LCE's interpreter on every input with --reference lce,
    TFLite's reference kernels by default."""
    from bnnkit import convert as cv
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tfenv import keras
    from bnnkit.tflite_reader import parse_tflite
    from bnnkit import lower

    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 10, 3))
    y = keras.layers.Conv2D(8, 3, activation="relu")(inp)
    y = keras.layers.AveragePooling2D(2)(y)
    y = keras.layers.Conv2D(20, 3)(y)
    y = keras.layers.AveragePooling2D((3, 2), strides=1, padding="same")(y)
    y = keras.layers.GlobalAveragePooling2D(keepdims=True)(y)
    y = keras.layers.Conv2D(16, 1)(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    model = keras.Model(inp, keras.layers.Dense(4)(y))

    calib = np.random.default_rng(0).uniform(-1, 1, (32, 12, 10, 3)).astype(np.float32)
    monkeypatch.setattr(cv, "_calibration_inputs", lambda *a, **k: calib)
    fb = cv.convert_int8(model, {}, "pools", len(calib))
    low = lower.lower(parse_tflite(fb, "pools"), "pools", reference="lce")
    kinds = [n.kind for n in low.nodes]
    assert kinds.count("avgpool_s8") == 2 and kinds.count("mean_s8") == 2
    assert sorted(n.params["spatial"] for n in low.nodes if n.kind == "mean_s8") == [False, True]
    # TFLite's reference kernels take QuantizedMeanOrSum for both
    low = lower.lower(parse_tflite(fb, "pools"), "pools")
    assert [n.params["spatial"] for n in low.nodes if n.kind == "mean_s8"] == [False, False]

    path = tmp_path / "pools.tflite"
    path.write_bytes(fb)
    # an int8 input model takes int8 values (no preprocessing)
    x = np.random.default_rng(1).integers(-128, 128, (40, 12, 10, 3)).astype(np.int8)
    for reference in ("lce", "tflite"):
        c, ref, _ = compare_on_inputs(path, x, target="host", build_dir=tmp_path / reference,
                                      reference=reference)
        np.testing.assert_array_equal(c, ref)
        assert ref.dtype == np.int8 and (ref.std(axis=0) > 5).all()  # the outputs vary
