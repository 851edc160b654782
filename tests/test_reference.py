"""Whose int8 bytes: an int8 model without LCE ops is generated with the
arithmetic of TFLite's reference kernels (what TFLite Micro and CMSIS-NN
compute) and checked against TensorFlow's interpreter with BUILTIN_REF; a model
with LCE ops keeps LCE's interpreter, its only runtime (issue 29).

The models are what a TFLite Micro user makes: TensorFlow's full-integer
converter on small Keras models, one op family each, most with every scale a
power of two so that the roundings meet exact ties often (where TFLite's
optimized x86 kernels and its reference kernels disagree)."""

import json

import numpy as np
import pytest

from helpers import MODELS, needs_fashion, power_of_two_scales, run_cli


def _convert(model, shape, float_io=False, pow2=True):
    from bnnkit.tfenv import tf

    rng = np.random.default_rng(0)

    def representative():
        for _ in range(32):
            yield [rng.normal(size=(1,) + shape).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = conv.inference_output_type = tf.int8
    fb = conv.convert()
    return power_of_two_scales(fb, filters=(3, 4, 9)) if pow2 else fb


def _models():
    from bnnkit.tfenv import keras

    L = keras.layers
    keras.utils.set_random_seed(1)
    built = {}

    def model(name, shape, body, **kw):
        inp = keras.Input(shape)
        built[name] = (_convert(keras.Model(inp, body(inp)), shape, **kw), shape)

    # CONV_2D with a stride, FULLY_CONNECTED: ruy's ties up vs the reference's away
    model("conv_fc", (10, 10, 3), lambda x: L.Dense(13)(L.Flatten()(
        L.Conv2D(8, 3, strides=2)(x))))
    # DEPTHWISE_CONV_2D: 8-channel blocks tie up in LCE's, none in the reference
    model("depthwise", (9, 9, 21), lambda x: L.DepthwiseConv2D(3, padding="same")(x))
    # ADD (16-value blocks with one rounding and an int16 wrap) and MUL
    model("add_mul", (6, 6, 7), lambda x: L.Multiply()([L.Add()([L.Conv2D(7, 1)(x), x]), x]))
    # MEAN: LCE's keep_dims [1, 2] path (16-channel blocks) is not the reference's
    # QuantizedMeanOrSum (they part on the calibrated scales, not on powers of two)
    model("mean_pool", (8, 8, 20), lambda x: L.Flatten()(
        L.GlobalAveragePooling2D(keepdims=True)(L.AveragePooling2D(2)(x))), pow2=False)
    model("softmax", (29,), lambda x: L.Softmax()(L.Dense(29)(x)))
    # QUANTIZE (blocks of 8 ties to even in LCE's) and DEQUANTIZE at float edges
    model("float_edges", (5, 5, 11), lambda x: L.Conv2D(9, 1)(x), float_io=True)
    return built


@pytest.fixture(scope="module")
def op_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ref")
    paths = {}
    for name, (fb, shape) in _models().items():
        paths[name] = (folder / f"{name}.tflite", shape)
        paths[name][0].write_bytes(fb)
    return paths


@pytest.mark.parametrize("name", ["conv_fc", "depthwise", "add_mul", "mean_pool", "softmax",
                                  "float_edges"])
def test_int8_models_give_tflite_reference_bytes(op_models, name, tmp_path):
    """The default for an int8 model without LCE ops: TFLite's reference
    kernels' bytes, exactly; forced to LCE, LCE's interpreter's bytes."""
    from bnnkit.simulate import compare_on_inputs

    path, shape = op_models[name]
    rng = np.random.default_rng(7)
    if name == "float_edges":  # float input: exact quantization ties among them
        x = (rng.integers(-300, 300, (60,) + shape) * 0.5
             * 2.0 ** np.round(np.log2(0.05))).astype(np.float32)
    else:
        x = rng.integers(-128, 128, (60,) + shape).astype(np.int8)
    c, ref, gen = compare_on_inputs(path, x, build_dir=tmp_path / "ref")
    assert gen.low.reference == "tflite"
    np.testing.assert_array_equal(c, ref)
    assert len(np.unique(ref.reshape(len(x), -1), axis=0)) > len(x) // 2  # outputs vary
    c, lce, gen = compare_on_inputs(path, x, build_dir=tmp_path / "lce", reference="lce")
    assert gen.low.reference == "lce"
    np.testing.assert_array_equal(c, lce)


def test_the_two_references_differ_on_ties(op_models):
    """Not a distinction without a difference: on these models the reference
    kernels and LCE's interpreter disagree, and bnnkit's numpy of each op
    follows the right one (the C follows the numpy, tests above)."""
    from bnnkit.reference import reference_predict

    differ = []
    for name, (path, shape) in op_models.items():
        if name == "float_edges":
            continue
        x = np.random.default_rng(7).integers(-128, 128, (60,) + shape).astype(np.int8)
        a, b = (reference_predict(r, path.read_bytes(), x) for r in ("tflite", "lce"))
        if not np.array_equal(a, b):
            differ.append(name)
    assert {"conv_fc", "depthwise", "add_mul", "mean_pool"} <= set(differ), differ


@needs_fashion
def test_which_reference_a_model_gets(tmp_path):
    from bnnkit.lower import choose_reference
    from bnnkit.tflite_reader import read_tflite

    assert choose_reference(read_tflite(MODELS / "lenet_float_int8.tflite")) == "tflite"
    assert choose_reference(read_tflite(MODELS / "lenet_bin3_int8.tflite")) == "lce"  # LCE ops
    assert choose_reference(read_tflite(MODELS / "lenet_float.tflite")) == "lce"  # float
    res = run_cli("gen-firmware", MODELS / "lenet_bin3_int8.tflite", "--reference", "tflite",
                  "-o", tmp_path / "p")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "--reference tflite: TFLite has no kernels for Lce" in res.stderr
    assert not (tmp_path / "p").exists()
    out = tmp_path / "v.json"
    res = run_cli("validate", MODELS / "lenet_float_int8.tflite", "--data", "fashion-mnist",
                  "--limit", "30", "--json", out)
    assert res.returncode == 0, res.stderr
    assert "TFLite's reference kernels (BUILTIN_REF" in res.stdout
    assert "agreement with TFLite reference 100.00 %" in res.stdout
    report = json.loads(out.read_text())
    assert report["reference"] == "tflite" and report["max_abs_diff"] == 0
