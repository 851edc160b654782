"""int8 forms of the ops real networks are built from, converted by LCE from
Keras models with fake-quant nodes (and a larq-zoo-style residual binary
network through ``convert --int8``'s placement), generated for the host and
compared with LCE's interpreter byte for byte: residual ADD (TFLite's SIMD
blocks and scalar tail round differently, and its blocks wrap in int16),
broadcast MUL, QUANTIZE int8 -> int8 (ties up in blocks, away in the tail),
LceBconv2d with int8 output (LCE's float output transform, rounded)."""

import numpy as np
import pytest


def _fake_quant(lo, hi):
    from bnnkit.tfenv import keras, tf

    return keras.layers.Lambda(
        lambda v: tf.quantization.fake_quant_with_min_max_vars(v, lo, hi, num_bits=8))


def _convert(model, path):
    from larq_compute_engine import convert_keras_model

    from bnnkit.tfenv import tf

    path.write_bytes(convert_keras_model(model, inference_input_type=tf.int8,
                                         inference_output_type=tf.int8))
    return path


def _compare(path, tmp_path, n=20, seed=5):
    """The generated C against the interpreter on n random int8 inputs."""
    from bnnkit.lower import lower
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tflite_reader import read_tflite

    g = read_tflite(path)
    shape = tuple(g.tensor(g.inputs[0]).shape[1:])
    x = np.random.default_rng(seed).integers(-128, 128, (n,) + shape).astype(np.int8)
    c, ref, _ = compare_on_inputs(path, x, build_dir=tmp_path)
    assert np.std(ref.astype(np.float64), axis=0).max() > 0, "outputs do not vary"
    np.testing.assert_array_equal(c, ref)
    # a conv that computes the ADD after it (passes.residual) as "conv2d_s8+add"
    return [node.kind + ("+add" if "residual_add" in node.params else "")
            for node in lower(g, "m").nodes]


def test_residual_add_broadcast_mul_and_requantize(tmp_path):
    from bnnkit.tfenv import keras

    fq = _fake_quant
    inp = keras.Input((7, 5, 3))
    x = fq(-1, 1)(inp)
    a = fq(-3, 2)(keras.layers.Conv2D(6, 3, padding="same")(x))
    b = fq(-2, 4)(keras.layers.Conv2D(6, 1, activation="relu")(x))
    s = fq(-4, 5)(keras.layers.Add()([a, b]))  # 210 values: 13 blocks and a tail
    v = keras.layers.Reshape((1, 1, 6))(fq(-1, 1)(keras.layers.Dense(6)(keras.layers.Flatten()(x))))
    m = fq(-3, 3)(keras.layers.Multiply()([s, v]))  # a per-channel MUL
    p = fq(-1.5, 2)(keras.layers.MaxPooling2D(2, padding="same")(m))  # QUANTIZE after the pool
    c = fq(-2, 2)(keras.layers.Conv2D(6, 2, strides=2, padding="same")(x))
    out = fq(-6, 6)(keras.layers.Add()([p, c]))
    kinds = _compare(_convert(keras.Model(inp, keras.layers.Flatten()(out)), tmp_path / "ew.tflite"),
                     tmp_path)
    # both ADDs computed by the conv before them: the same arithmetic, a few values at a time
    assert {"conv2d_s8+add", "mul_s8", "requantize_s8"} <= set(kinds)


def test_requantize_ties_and_add_int16_wrap(tmp_path):
    """A scale ratio of 1/4 puts values on exact ties; an ADD output scale far
    below its inputs' overflows int16 inside TFLite's blocks."""
    from bnnkit.tfenv import keras

    fq = _fake_quant
    inp = keras.Input((7, 5, 2))
    a = fq(-1.28, 1.27)(keras.layers.Conv2D(4, 3, padding="same")(fq(-1, 1)(inp)))
    q = fq(-5.12, 5.08)(keras.layers.MaxPooling2D((1, 1))(a))  # 140 values, ratio 1/4
    kinds = _compare(_convert(keras.Model(inp, keras.layers.Flatten()(q)), tmp_path / "rq.tflite"),
                     tmp_path / "rq")
    assert "requantize_s8" in kinds
    inp = keras.Input((17,))
    x = fq(-128, 127)(inp)
    s = fq(-0.5, 0.49609375)(keras.layers.Add()([x, fq(-128, 127)(keras.layers.Dense(17)(x))]))
    _compare(_convert(keras.Model(inp, s), tmp_path / "wrap.tflite"), tmp_path / "wrap")


# public network -> int8 kinds its int8 form must lower to
PUBLIC_INT8 = {
    # LCE's own end-to-end toy network: binary 3x3 convs writing int8 into residual ADDs
    "lce_toy_model": {"add_s8", "bconv2d"},
    # MLPerf Tiny's ResNet-8 with binary convs: residual ADDs, average pools, requantize, MEAN
    "binary_resnet8": {"add_s8", "avgpool_s8", "requantize_s8", "mean_s8", "bconv2d"},
}


@pytest.mark.parametrize("name", sorted(PUBLIC_INT8))
def test_public_binary_networks_in_int8(name, tmp_path, monkeypatch):
    """Through ``convert --int8``'s fake-quant placement (calibrated on random
    inputs), LCE's int8 form of each network, bit for bit."""
    from bnnkit import convert as cv
    from bnnkit import public_models as pm

    x = pm.random_inputs(name, 32, seed=3)
    monkeypatch.setattr(cv, "_calibration_inputs", lambda *a, **k: x)
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(cv.convert_int8(pm.build(name), {}, name, len(x)))
    kinds = _compare(path, tmp_path)
    assert PUBLIC_INT8[name] <= set(kinds), kinds


def test_sequential_larq_models_take_int8_placement(monkeypatch):
    """A Sequential Larq model has no input layer of its own in ``layers``;
    --int8 places fake quants on its graph all the same."""
    from bnnkit import convert as cv
    from bnnkit import public_models as pm
    from bnnkit.lower import lower
    from bnnkit.tflite_reader import parse_tflite

    x = pm.random_inputs("lce_toy_sequential", 16, seed=3)
    monkeypatch.setattr(cv, "_calibration_inputs", lambda *a, **k: x)
    g = parse_tflite(cv.convert_int8(pm.build("lce_toy_sequential"), {}, "seq", len(x)))
    low = lower(g, "m")
    assert [n.params["output"] for n in low.nodes if n.kind == "bconv2d"].count("int8") == 2


def test_broadcast_int8_add_is_refused_by_name(tmp_path):
    from bnnkit.errors import BnnkitError
    from bnnkit.lower import lower
    from bnnkit.tfenv import keras
    from bnnkit.tflite_reader import read_tflite

    fq = _fake_quant
    inp = keras.Input((4, 4, 3))
    x = fq(-1, 1)(inp)
    v = keras.layers.Reshape((1, 1, 3))(fq(-1, 1)(keras.layers.Dense(3)(keras.layers.Flatten()(x))))
    out = fq(-2, 2)(keras.layers.Add()([x, v]))
    g = read_tflite(_convert(keras.Model(inp, out), tmp_path / "b.tflite"))
    with pytest.raises(BnnkitError, match=r"^b.tflite: unsupported: ADD -> .*broadcasting is "
                                          r"not supported"):
        lower(g, "b.tflite")


def test_int8_one_by_one_binary_conv_with_same_padding(tmp_path):
    """A 1x1 binary conv with padding="same" (which pads nothing) and int8
    output: accepted (it used to be refused as zero padding). LCE's optimized
    kernel refuses to run it, so the reference is LCE on the same network with
    padding="valid", the same weights: the same arithmetic, byte for byte."""
    import larq as lq

    from bnnkit.build import make
    from bnnkit.emit import generate
    from bnnkit.simulate import as_printed, reference_outputs, run_firmware
    from bnnkit.tfenv import keras
    from bnnkit.tflite_reader import read_tflite

    def network(padding):
        inp = keras.Input((6, 5, 8))
        y = lq.layers.QuantConv2D(12, 1, padding=padding, input_quantizer="ste_sign",
                                  kernel_quantizer="ste_sign", use_bias=False)(
            _fake_quant(-1, 1)(inp))
        y = _fake_quant(-8, 8)(keras.layers.BatchNormalization()(y))  # int8 out of the bconv
        return keras.Model(inp, keras.layers.MaxPooling2D((1, 1))(y))

    same, valid = network("same"), network("valid")
    rng = np.random.default_rng(4)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in same.get_weights()]
    weights[-1] = np.abs(weights[-1]) + 0.5  # the batch norm's variance
    same.set_weights(weights)
    valid.set_weights(weights)
    paths = {p: _convert(m, tmp_path / f"{p}.tflite") for p, m in (("same", same),
                                                                     ("valid", valid))}
    g = read_tflite(paths["same"])
    (bconv,) = [op for op in g.ops if op.type == "LceBconv2d"]
    assert g.tensor(bconv.outputs[0]).dtype == "int8" and bconv.options["pad_values"] == 0
    x = rng.integers(-128, 128, (20, 6, 5, 8)).astype(np.int8)
    gen = generate(paths["same"], "host", tmp_path / "same-fw")
    _, scores, _ = run_firmware(gen, make(tmp_path / "same-fw", gen.target), x, 300)
    ref = reference_outputs(generate(paths["valid"], "host", tmp_path / "valid-fw"), x)
    assert np.std(ref.astype(np.float64), axis=0).max() > 0
    np.testing.assert_array_equal(as_printed(gen, scores), ref)
