"""What NAME_run takes and returns for models that are not bnnkit's own
8-bit image classifiers: the model's own float32 input without a sidecar, uint8
pixels with --input/--scale/--offset, a +-1 output straight from LceDequantize."""

import numpy as np

from helpers import MODELS, run_cli


def _sign_model(path):
    """LCE's toy_model_sign: the output is the sign of the input (LceQuantize ->
    LceDequantize), which once made gen-firmware write C that did not compile."""
    from bnnkit.convert import convert_model
    from bnnkit.tfenv import keras, lq

    inp = keras.Input((4, 4, 40))
    path.write_bytes(convert_model(keras.Model(inp, lq.quantizers.SteSign()(inp))))


def test_dequantize_output_matches_lce(tmp_path):
    from bnnkit.simulate import compare_on_inputs

    path = tmp_path / "sign.tflite"
    _sign_model(path)
    x = np.random.default_rng(0).normal(size=(20, 4, 4, 40)).astype(np.float32)
    x[0, 0, 0, :4] = [0.0, -0.0, 1e-30, -1e-30]
    c, ref, gen = compare_on_inputs(path, x, build_dir=tmp_path)
    assert gen.program.output_floats == 640 and not gen.output_bits
    np.testing.assert_array_equal(c, ref)
    assert set(np.unique(c)) == {-1.0, 1.0}


def test_without_sidecar_the_api_takes_float_input(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())  # no sidecar beside it
    res = run_cli("gen-firmware", model, "-o", tmp_path / "p")
    assert res.returncode == 0, res.stderr
    header = (tmp_path / "p" / "net" / "net.h").read_text()
    assert "typedef float net_input_t;" in header
    assert "int net_run(const net_input_t *x, net_output_t *scores);" in header
    assert "Fashion" not in (tmp_path / "p" / "net" / "net.c").read_text()
    res = run_cli("simulate", model)
    assert res.returncode == 2 and "no sidecar names the model's dataset" in res.stderr


def test_input_uint8_with_scale_and_offset(tmp_path):
    from bnnkit.preprocess import uint8_scale
    from bnnkit.simulate import compare_on_inputs

    model = tmp_path / "net.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    res = run_cli("gen-firmware", model, "-o", tmp_path / "p", "--input", "uint8",
                  "--scale", "0.0078125", "--offset", "-1")
    assert res.returncode == 0, res.stderr
    source = (tmp_path / "p" / "net" / "net.c").read_text()
    assert "(float)pixels[i] * 0x1.0000000000000p-7f + -0x1.0000000000000p+0f" in source
    pixels = np.random.default_rng(1).integers(0, 256, (20, 28, 28)).astype(np.uint8)
    c, ref, _ = compare_on_inputs(model, pixels, build_dir=tmp_path / "b",
                                  input_spec=uint8_scale(0.0078125, -1.0))
    np.testing.assert_array_equal(c.argmax(1), ref.argmax(1))
    assert np.abs(c - ref).max() <= 1e-5
    for bad in (["--scale", "2"], ["--input", "uint8", "--scale", "nan"],
                ["--input", "float32", "--offset", "1"]):
        res = run_cli("gen-firmware", model, "-o", tmp_path / "q", *bad)
        assert res.returncode == 2 and "Traceback" not in res.stderr, bad
        assert not (tmp_path / "q").exists()


def _rgb_models(tmp_path):
    """A small 3-channel float network and its int8 form (fake-quant ranges)."""
    from larq_compute_engine import convert_keras_model

    from bnnkit.convert import convert_model
    from bnnkit.tfenv import keras, tf

    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=True)(inp)
    out = keras.layers.Dense(5)(keras.layers.Flatten()(x))
    fp = tmp_path / "rgb.tflite"
    fp.write_bytes(convert_model(keras.Model(inp, out)))

    def fq(v, lo=-3.0, hi=3.0):
        return keras.layers.Lambda(
            lambda t: tf.quantization.fake_quant_with_min_max_vars(t, lo, hi, num_bits=8))(v)

    inp = keras.Input((6, 6, 3))
    x = fq(keras.layers.Conv2D(4, 3)(fq(inp)), -8.0, 8.0)
    out = fq(keras.layers.Dense(5)(keras.layers.Flatten()(x)), -16.0, 16.0)
    q = tmp_path / "rgb_int8.tflite"
    q.write_bytes(convert_keras_model(keras.Model(inp, out), inference_input_type=tf.int8,
                                      inference_output_type=tf.int8))
    return fp, q


def test_per_channel_mean_and_std(tmp_path):
    """--mean/--std: x = (pixel * scale - mean[c]) / std[c] in float32, in the
    generated C exactly as bnnkit.preprocess computes it (so the outputs equal
    LCE's on the same inputs), for float input and, tabulated per channel, for
    an int8 model's quantized input."""
    from bnnkit.preprocess import apply, uint8_scale
    from bnnkit.simulate import compare_on_inputs

    spec = uint8_scale(1 / 255, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    pixels = np.random.default_rng(2).integers(0, 256, (24, 6, 6, 3)).astype(np.uint8)
    x = apply(spec, pixels, (6, 6, 3))
    # the channel is the last axis: pixel 0 of channel 2 is -0.406 / 0.225
    assert x[0, 0, 0, 2] == np.float32(np.float32(pixels[0, 0, 0, 2]) * np.float32(1 / 255)
                                       - np.float32(0.406)) / np.float32(0.225)
    fp, q = _rgb_models(tmp_path)
    for model in (fp, q):
        c, ref, gen = compare_on_inputs(model, pixels, build_dir=tmp_path / model.stem,
                                        input_spec=spec)
        assert gen.input_dtype == np.uint8
        np.testing.assert_array_equal(c, ref)
    source = (tmp_path / "rgb_int8" / "rgb_int8-host" / "rgb_int8" / "rgb_int8.c").read_text()
    assert "rgb_int8_pixel_table[(i % 3) * 256 + pixels[i]]" in source
    res = run_cli("gen-firmware", fp, "-o", tmp_path / "bad", "--input", "uint8",
                  "--mean", "0.5,0.5", "--std", "0.2,0.2")
    assert res.returncode == 2 and "2 mean/std values for an input of 3 channels" in res.stderr
    assert not (tmp_path / "bad").exists()
    res = run_cli("gen-firmware", fp, "-o", tmp_path / "bad", "--input", "uint8", "--mean", "0.5")
    assert res.returncode == 2 and "--mean and --std go together" in res.stderr


def test_sidecar_command(tmp_path):
    """'bnnkit sidecar' writes what gen-firmware then reads, checked against the
    model first, and never replaces a sidecar without --force."""
    import json

    model = tmp_path / "net.tflite"
    model.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    names = tmp_path / "names.txt"
    names.write_text("".join(f"class {i}\n" for i in range(10)))
    res = run_cli("sidecar", model, "--class-names", names, "--input", "uint8",
                  "--scale", "0.0078125", "--offset", "-1", "--dataset", "fashion-mnist")
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "net.json").read_text())
    assert meta["class_names"][9] == "class 9" and meta["dataset"] == "fashion-mnist"
    assert meta["preprocessing"]["offset"] == -1.0
    res = run_cli("gen-firmware", model, "-o", tmp_path / "p")
    assert res.returncode == 0, res.stderr
    source = (tmp_path / "p" / "net" / "net.c").read_text()
    assert '"class 9"' in source and "+ -0x1.0000000000000p+0f" in source
    before = (tmp_path / "net.json").read_bytes()
    res = run_cli("sidecar", model, "--input", "uint8")
    assert res.returncode == 2 and "--force" in res.stderr
    assert (tmp_path / "net.json").read_bytes() == before
    names.write_text("a\nb\n")
    res = run_cli("sidecar", model, "--class-names", names, "--force")
    assert res.returncode == 2 and "2 class names for 10 outputs" in res.stderr
    assert (tmp_path / "net.json").read_bytes() == before
    res = run_cli("sidecar", model, "--force", "--input", "float32")
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "net.json").read_text())
    assert meta["preprocessing"]["kind"] == "none" and meta["class_names"][0] == "class 0"


def test_io_float_for_an_int8_model(tmp_path):
    """--io float: NAME_run takes float32 and gives float32 scores for an int8
    model, quantizing the input as bnnkit.ops._quant.quantize_f32 does (ties
    away from zero, NaN to the zero point, saturated) and dequantizing each
    score once; the same bytes as LCE on the quantized input."""
    from bnnkit.ops._quant import quantize_f32
    from bnnkit.simulate import compare_on_inputs

    _, q = _rgb_models(tmp_path)
    rng = np.random.default_rng(4)
    x = rng.normal(scale=2.0, size=(24, 6, 6, 3)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, 1e30, -np.inf]
    c, ref, gen = compare_on_inputs(q, x, build_dir=tmp_path / "f", io="float")
    assert gen.input_dtype == np.float32 and gen.output_kind == "f32" and c.dtype == np.float32
    np.testing.assert_array_equal(c, ref)
    scale, zp = gen.input_quant
    assert quantize_f32(x[0, 0, 0, :3], scale, zp).tolist() == [zp, 127, -128]
    # the scores are the int8 model's, dequantized: a float32 multiple of the scale
    oscale, ozp = gen.output_quant
    steps = c / np.float32(oscale) + ozp
    np.testing.assert_array_equal(steps, np.round(steps))
    header = (gen.lib_dir / "rgb_int8.h").read_text()
    assert "typedef float rgb_int8_input_t;" in header and "typedef float rgb_int8_output_t;" in header
    assert "#define RGB_INT8_OUTPUT_SCALE" in header
    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", tmp_path / "bad", "--io", "float")
    assert res.returncode == 2 and "--io float is for int8 models" in res.stderr
    assert not (tmp_path / "bad").exists()
