"""int8 models: plain full-integer TFLite (as TFLite Micro users make them) and
LCE's int8 form of a binary network (lenet_bin3_int8): lowering, bit-exact runs
on the host, the Cortex-M4 and the Cortex-M3, and what is refused."""

import copy

import numpy as np
import pytest

from bnnkit.errors import BnnkitError
from helpers import MODELS, needs_fashion, run_cli

INT8_LENET = MODELS / "lenet_float_int8.tflite"
BIN3_INT8 = MODELS / "lenet_bin3_int8.tflite"
TFLM_CMSIS_NN_M4 = 2_891_615  # TFLite Micro + CMSIS-NN, same LeNet, same board (BRIEF.md)


def _graph():
    from bnnkit.tflite_reader import read_tflite

    return read_tflite(INT8_LENET)


def test_int8_lenet_lowers_to_int8_kernels():
    from bnnkit.lower import lower

    low = lower(_graph(), "m")
    assert [n.kind for n in low.nodes] == ["conv2d_s8", "conv2d_s8", "reshape", "fc_s8",
                                           "fc_s8", "fc_s8", "softmax_s8"]
    assert [n.params["pool"] for n in low.nodes[:2]] == [(2, 2), (2, 2)]  # pools fused
    assert low.kinds[low.input] == "i8" and low.kinds[low.output] == "i8"
    assert low.quant[low.output] == (1 / 256, -128)


def test_pixels_map_to_the_int8_input_by_an_offset(tmp_path):
    from bnnkit.emit import generate

    generate(INT8_LENET, "host", tmp_path / "p")
    lib = tmp_path / "p" / INT8_LENET.stem
    model_c = (lib / f"{INT8_LENET.stem}.c").read_text()
    assert "input[i] = (int8_t)((int32_t)pixels[i] + (-128));" in model_c
    header = (lib / f"{INT8_LENET.stem}.h").read_text()
    assert "int8_t s8[" in header and "int8 scores quantized with scale 0.00390625" in header


@needs_fashion
def test_host_is_bit_exact_with_the_interpreter(tmp_path):
    from bnnkit.simulate import simulate

    record, extra = simulate(INT8_LENET, "host", limit=300, build_dir=tmp_path)
    assert extra["scores"].dtype == np.int8
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    assert record["accuracy"] == record["reference_accuracy"] > 0.85


@needs_fashion
def test_cortex_m4_is_bit_exact_and_beats_cmsis_nn(tmp_path):
    """The DSP kernels (SXTB16/SMLAD) on the emulated M4: the interpreter's
    bytes, in fewer instructions than TFLite Micro with CMSIS-NN."""
    from bnnkit.simulate import simulate

    record, _ = simulate(INT8_LENET, "cortex-m4", limit=20, build_dir=tmp_path)
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    # 1,111,694 measured; the target 1.7 M
    assert 0 < record["instructions_per_inference"] <= 1_200_000 < TFLM_CMSIS_NN_M4
    # int8 weights as in the flatbuffer; the convolutions' (2,550 B) widened to int16
    assert record["model_flash_bytes"] == record["model_bytes"] <= INT8_LENET.stat().st_size * 1.03
    assert record["flash_bytes"] < 218_868  # TFLite Micro + CMSIS-NN's whole firmware
    assert record["ram_bytes"] <= 11_000


def _lower_mutated(mutate):
    from bnnkit.lower import lower

    g = copy.deepcopy(_graph())
    mutate(g)
    with pytest.raises(BnnkitError) as err:
        lower(g, "bad.tflite")
    return str(err.value)


def _tensor(g, name_part):
    return next(t for t in g.tensors if name_part in t.name)


@pytest.mark.parametrize("mutate,says", [
    (lambda g: setattr(_tensor(g, "pool1/MaxPool"), "scale", None),
     "int8 tensor lenet_float/pool1/MaxPool needs one scale and zero point"),
    (lambda g: setattr(_tensor(g, "pool1/MaxPool"), "scale", np.float32([0.1, 0.2])),
     "needs one scale and zero point"),
    (lambda g: setattr(_tensor(g, "fc1/MatMul"), "zero_point", np.int64([300])),
     "zero point 300 (a positive finite scale and -128..127 needed)"),
    (lambda g: setattr(_tensor(g, "fc1/MatMul"), "scale", np.float32([np.nan])),
     "has scale nan"),
    (lambda g: setattr(_tensor(g, "qconst9"), "zero_point", np.ones(6, np.int64)),
     "needs zero points of 0 and positive scales"),
    (lambda g: g.ops[0].options.update(activation="TANH"), "fused activation TANH on int8"),
    (lambda g: setattr(_tensor(g, "qconst8"), "data", np.zeros(3, np.int32)),
     "the bias must be a constant int32 tensor of 6 values"),
])
def test_bad_int8_models_are_refused_by_name(mutate, says):
    msg = _lower_mutated(mutate)
    assert msg.startswith("bad.tflite: unsupported:") and says in msg, msg


def test_uint8_models_are_refused_by_name():
    def to_uint8(g):
        t = _tensor(g, "pool1/MaxPool")
        t.dtype = "uint8"

    msg = _lower_mutated(to_uint8)
    assert "uint8 tensor lenet_float/pool1/MaxPool" in msg


def test_fake_quant_goes_where_int8_kernels_read():
    from bnnkit.convert import fake_quant_points, load_keras

    # not before a sign (bn0, bn1, bn2), not after a binary layer, a pool or the softmax
    assert fake_quant_points(load_keras(MODELS / "lenet_bin3.h5")) == \
        ["image", "conv1", "conv2", "bn3"]
    # after fc1 (ReLU): its batch norm cannot fold into it, so fc1 runs in int8
    assert fake_quant_points(load_keras(MODELS / "lenet_bin2.h5")) == \
        ["image", "conv1", "conv2", "fc1", "bn3"]


@needs_fashion
def test_convert_int8_of_a_larq_model_gives_lce_int8_ops():
    from bnnkit import metadata
    from bnnkit.convert import convert_int8, load_keras
    from bnnkit.lower import lower
    from bnnkit.tflite_reader import parse_tflite

    fb = convert_int8(load_keras(MODELS / "lenet_bin3.h5"),
                      metadata.load(MODELS / "lenet_bin3.h5"), "m", calibration_images=20)
    g = parse_tflite(fb)
    assert g.tensor(g.inputs[0]).dtype == g.tensor(g.outputs[0]).dtype == "int8"
    assert {"CONV_2D", "DEQUANTIZE", "LceQuantize", "QUANTIZE"} <= {op.type for op in g.ops}
    assert "quantize_bits_s8" in [n.kind for n in lower(g, "m").nodes]


def test_lce_int8_lenet_lowers_without_float_before_the_last_layer():
    from bnnkit.lower import lower
    from bnnkit.tflite_reader import read_tflite

    low = lower(read_tflite(BIN3_INT8), "m")
    assert [n.kind for n in low.nodes] == [
        "conv2d_s8", "conv2d_s8", "reshape", "quantize_bits_s8", "binary_dense",
        "binary_dense", "binary_dense", "quantize_s8", "softmax_s8"]
    sign = low.nodes[3]  # DEQUANTIZE -> MUL -> ADD -> LceQuantize, folded
    assert sign.consts["threshold"].dtype == np.int8 and sign.consts["threshold"].size == 784
    assert [n.params["output"] for n in low.nodes[4:7]] == ["bits", "bits", "float"]
    assert low.nodes[-1].params["computed"]  # no exp table among the constants


@needs_fashion
def test_lce_int8_lenet_is_bit_exact_on_host_m4_and_m3(tmp_path):
    """lenet_bin3_int8 gives LCE's interpreter's int8 bytes everywhere. Without
    the DSP extension its constants are larq's int8 size (17.28 KiB) within 2.5 %;
    the M4 stores the convolutions' weights widened for SMLAD."""
    from bnnkit.simulate import simulate

    host, extra = simulate(BIN3_INT8, "host", limit=300, build_dir=tmp_path)
    assert extra["scores"].dtype == np.int8
    assert host["agreement"] == 1.0 and host["max_abs_diff"] == 0
    assert host["accuracy"] == host["reference_accuracy"] > 0.85
    assert host["model_bytes"] <= 18_100
    m3, _ = simulate(BIN3_INT8, "cortex-m3", limit=3, build_dir=tmp_path)
    m4, _ = simulate(BIN3_INT8, "cortex-m4", limit=3, build_dir=tmp_path)
    for r in (m3, m4):
        assert r["agreement"] == 1.0 and r["max_abs_diff"] == 0
    assert m3["model_bytes"] == host["model_bytes"] < m4["model_bytes"]
    # deterministic on QEMU: 1,028,899 and 1,785,758 measured (rows path)
    assert 0 < m4["instructions_per_inference"] <= 1_100_000
    assert 0 < m3["instructions_per_inference"] <= 1_850_000


@needs_fashion
@pytest.mark.parametrize("name", ["lenet_bin1_int8", "lenet_bin2_int8", "lenet_bin3_plus_int8"])
def test_every_shipped_int8_lenet_is_bit_exact(name, tmp_path):
    """The int8 forms of the other binary LeNets (``bnnkit convert MODEL.h5
    --int8``): LCE's bytes on the host, and their sidecar's int8 accuracy on the
    whole test set within half a point of the float model's."""
    import json

    from bnnkit.simulate import simulate

    record, _ = simulate(MODELS / f"{name}.tflite", "host", limit=200, build_dir=tmp_path)
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    meta = json.loads((MODELS / f"{name}.json").read_text())
    assert abs(meta["int8"]["test_accuracy"] - meta["keras_test_accuracy"]) <= 0.005


@needs_fashion
def test_cortex_m3_runs_int8_without_float(tmp_path):
    """The Cortex-M3 (no FPU, no DSP): the portable int8 kernels give the
    interpreter's bytes, and only the softmax calls the soft-float library."""
    import subprocess

    from bnnkit.simulate import simulate

    record, extra = simulate(INT8_LENET, "cortex-m3", limit=10, build_dir=tmp_path)
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    assert record["instructions_per_inference"] > 0
    objs = [tmp_path / "lenet_float_int8-cortex-m3" / "app" / f for f in
            ("bnn_conv2d_s8.o", "bnn_softmax_s8.o", "lenet_float_int8.o")]
    undefined = {o.name: subprocess.run(["arm-none-eabi-nm", "-u", str(o)], capture_output=True,
                                        text=True, check=True).stdout for o in objs}
    assert "__aeabi_" not in undefined["bnn_conv2d_s8.o"] + undefined["lenet_float_int8.o"]
    assert "__aeabi_fmul" in undefined["bnn_softmax_s8.o"]


@needs_fashion
def test_negative_ties_round_up_as_the_interpreter(tmp_path):
    """The four of LeNet's 10,000 test images whose last layer meets an exact
    negative tie in its final rounding: the interpreter (ruy's x86 output
    stage) rounds those toward +inf, not away from zero as gemmlowp does."""
    from bnnkit import data
    from bnnkit.simulate import compare_on_inputs

    images = data.load("fashion-mnist", "test").images[[2388, 2741, 8949, 9946]]
    c, ref, _ = compare_on_inputs(INT8_LENET, images, "host", tmp_path)
    assert c.dtype == np.int8 and np.array_equal(c, ref)


def test_report_puts_each_int8_lenet_after_its_float_one():
    from bnnkit.report import run

    taken = {"accuracy": 0.9}
    rows = run(MODELS, "host", None, None, 60, progress=False, names=("lenet_float", "lenet_bin2"),
               measured={"lenet_float": taken, "lenet_float_int8": taken, "lenet_bin2": taken,
                         "lenet_bin2_int8": taken})
    assert [r["name"] for r in rows] == ["lenet_float", "lenet_float_int8", "lenet_bin2",
                                         "lenet_bin2_int8"]


def test_int8_library_states_its_quantization(tmp_path):
    """NAME_INPUT_SCALE/ZERO_POINT and NAME_OUTPUT_SCALE/ZERO_POINT: the model's own
    quantization, exactly, for code that feeds or reads int8 tensors."""
    import subprocess

    import numpy as np

    from bnnkit.emit import generate

    gen = generate(MODELS / "lenet_bin3_int8.tflite", "host", tmp_path / "q", app=False)
    lib = tmp_path / "q" / "lenet_bin3_int8"
    (tmp_path / "t.c").write_text(
        '#include <stdio.h>\n#include "lenet_bin3_int8.h"\n'
        'int main(void) { printf("%a %d %a %d\\n", (double)LENET_BIN3_INT8_INPUT_SCALE,\n'
        '    LENET_BIN3_INT8_INPUT_ZERO_POINT, (double)LENET_BIN3_INT8_OUTPUT_SCALE,\n'
        '    LENET_BIN3_INT8_OUTPUT_ZERO_POINT); return 0; }\n')
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(lib), "-o",
                    str(tmp_path / "t"), str(tmp_path / "t.c")], check=True)
    out = subprocess.run([str(tmp_path / "t")], capture_output=True, text=True,
                         check=True).stdout.split()
    in_scale, in_zp = gen.input_quant
    out_scale, out_zp = gen.low.quant[gen.low.output]
    assert float.fromhex(out[0]) == float(np.float32(in_scale)) and int(out[1]) == in_zp
    assert float.fromhex(out[2]) == float(np.float32(out_scale)) and int(out[3]) == out_zp


def test_inspect_shows_the_io_quantization():

    res = run_cli("inspect", MODELS / "lenet_bin3_int8.tflite")
    assert res.returncode == 0, res.stderr
    assert "int8[1, 28, 28, 1], real = 0.003921568859368563 * (q + 128)" in res.stdout
    assert "int8[1, 10], real = 0.00390625 * (q + 128)" in res.stdout


def test_conversion_names_the_layers_left_in_float(tmp_path):
    """A layer without an int8 range after it stays float32, and so does what it
    feeds: float_layers (recorded by convert --int8 and printed) says which, by
    Keras layer name, and why."""
    from larq_compute_engine import convert_keras_model

    from bnnkit.cli.commands import format_float_layers
    from bnnkit.convert import float_layers
    from bnnkit.tfenv import keras, tf

    def fq(v, lo, hi):
        return keras.layers.Lambda(
            lambda t: tf.quantization.fake_quant_with_min_max_vars(t, lo, hi, num_bits=8))(v)

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 2))
    x = fq(keras.layers.Conv2D(4, 3, name="quantized")(fq(inp, -1.0, 1.0)), -4.0, 4.0)
    x = keras.layers.Conv2D(4, 3, name="no_range")(x)  # no fake-quant after it
    out = fq(keras.layers.Dense(3, name="head")(keras.layers.Flatten()(x)), -8.0, 8.0)
    fb = convert_keras_model(keras.Model(inp, out), inference_input_type=tf.int8,
                             inference_output_type=tf.int8)
    layers = float_layers(fb)
    assert layers == [
        "no_range (conv2d): its output has no int8 range (no fake-quant node after the layer): "
        "its int8 input is dequantized",
        "head (fc): its input is float32, from no_range (conv2d)"]
    assert not any(x.startswith("quantized") for x in layers)
    assert float_layers((MODELS / "lenet_bin3_int8.tflite").read_bytes()) == []
    assert "every layer runs int8" in format_float_layers([])
    assert "2 layer(s) still run float32" in format_float_layers(layers[:2])
