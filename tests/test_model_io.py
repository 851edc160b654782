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
