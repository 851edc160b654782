"""gen-firmware and simulate on the host: the shipped models against LCE."""

import hashlib
import json
import subprocess

import pytest

from bnnkit.simulate import HOST_KEYS
from bnnkit.targets import COMMON_CFLAGS, TARGETS
from helpers import LENETS, MODELS, needs_fashion, run_cli


def _digest(folder):
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(folder).as_posix().encode() + f.read_bytes())
    return h.hexdigest()


def test_generation_is_deterministic(tmp_path):
    for d in ("a", "b"):
        res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", tmp_path / d)
        assert res.returncode == 0, res.stderr
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    header = (tmp_path / "a" / "lenet_bin3" / "lenet_bin3.h").read_text()
    assert "bit 1 = -1" in header and "LENET_BIN3_ARENA_BYTES" in header


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", LENETS + ("qconvnet", "lenet_float_int8", "lenet_bin3_int8"))
def test_builds_with_werror(tmp_path, name, target):
    from bnnkit.build import make
    from bnnkit.emit import generate

    gen = generate(MODELS / f"{name}.tflite", target, tmp_path / "p")
    text = (tmp_path / "p" / "app" / "Makefile").read_text()
    assert COMMON_CFLAGS == "-std=c99 -Wall -Wextra -Werror -ffp-contract=off"
    assert COMMON_CFLAGS in text
    assert make(tmp_path / "p", gen.target).is_file()


@pytest.mark.parametrize("name", ("lenet_float", "lenet_bin3", "qconvnet",
                                  "lenet_bin3_t0_50_100_150_200_255", "lenet_float_int8",
                                  "lenet_bin3_int8"))
def test_host_project_builds_with_clang(tmp_path, name):
    """The generated model, harness and kernels build warning-free with clang."""
    import shutil

    from bnnkit.emit import generate

    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    generate(MODELS / f"{name}.tflite", "host", tmp_path / "p")
    res = subprocess.run(["make", "-C", str(tmp_path / "p" / "app"), "CC=clang"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


def test_standalone_make_needs_no_bnnkit(tmp_path):
    assert run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", tmp_path / "p").returncode == 0
    res = subprocess.run(["make", "-C", str(tmp_path / "p" / "app")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr


def test_binary_weights_are_one_bit(tmp_path):
    from bnnkit.emit import generate

    gen = generate(MODELS / "lenet_bin3.tflite", "host", tmp_path / "p")
    packed = [c for c in gen.program.consts if c.name.startswith("lenet_bin3_bin_w")]
    assert sum(c.nbytes for c in packed) == 4 * (120 * 25 + 84 * 4 + 10 * 3)
    assert gen.model_bytes <= 31400
    assert gen.program.arena_bytes <= 10240


@needs_fashion
@pytest.mark.parametrize("name", LENETS + ("qconvnet",))
def test_host_matches_lce_on_500_images(tmp_path, name):
    out = tmp_path / "r.json"
    res = run_cli("simulate", MODELS / f"{name}.tflite", "--limit", "500", "--json", out)
    assert res.returncode == 0, res.stderr
    record = json.loads(out.read_text())
    assert tuple(record) == HOST_KEYS
    assert record["n_images"] == 500
    # every float op of these models follows LCE's arithmetic: same bytes
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0.0
    assert record["accuracy"] == record["reference_accuracy"]


def test_unsupported_op_writes_nothing(tmp_path):
    """A flatbuffer with an op bnnkit cannot lower: one line naming it, no project."""
    from bnnkit.tfenv import keras, tf
    from bnnkit.convert import convert_model

    inp = keras.Input((4,))
    cumsum = keras.layers.Lambda(lambda t: tf.math.cumsum(t, axis=-1))
    model = keras.Model(inp, cumsum(keras.layers.Dense(3)(inp)))
    tfl = tmp_path / "cumsum.tflite"
    tfl.write_bytes(convert_model(model))
    res = run_cli("gen-firmware", tfl, "-o", tmp_path / "out")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "CUMSUM" in res.stderr and "cumsum.tflite: unsupported" in res.stderr
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cumsum.tflite"]


def test_qconvnet_uses_lce_binary_kernels(tmp_path):
    """bnnkit's own QuantConv2D model: one-padding with bit-packed output, valid
    padding, zero padding with float output, widths 40/37/33, a binary max pool
    fused into the binary conv before it (no unpooled buffer in the arena)."""
    from bnnkit.emit import generate
    from bnnkit.lower import lower
    from bnnkit.tflite_reader import read_tflite

    gen = generate(MODELS / "qconvnet.tflite", "host", tmp_path / "p")
    calls = "\n".join(s for _, stmts in gen.program.calls for s in stmts)
    assert calls.count("bnn_bconv2d_bits(") == 2 and calls.count("bnn_bconv2d_f32(") == 1
    assert "bnn_bmaxpool(" not in calls
    pooled = [n.params["pool"] for n in lower(read_tflite(MODELS / "qconvnet.tflite")).nodes
              if n.kind == "bconv2d" and n.params["pool"]]
    assert pooled == [(2, 2)]


@needs_fashion
@pytest.mark.parametrize("target", ["host", "cortex-m3", "cortex-m4"])
def test_float_conv_sums_like_lce(tmp_path, target):
    """Test image 6971 once flipped a sign in lenet_bin3: a batch-normed conv
    output lies 2.4e-7 from zero there, so only the very summation LCE performs
    (bias first, then one fused multiply-add per tap) gives LCE's scores."""
    import numpy as np

    from bnnkit import data, preprocess
    from bnnkit.build import make
    from bnnkit.emit import generate
    from bnnkit.reference import lce_predict
    from bnnkit.simulate import run_firmware

    images = data.load("fashion-mnist", "test").images[[6971, 0, 1]]
    gen = generate(MODELS / "lenet_bin3.tflite", target, tmp_path / "p")
    _, scores, _ = run_firmware(gen, make(tmp_path / "p", gen.target), images, 300)
    ref = lce_predict(gen.flatbuffer, preprocess.apply(gen.meta["preprocessing"], images))
    assert np.array_equal(scores, ref)  # bit for bit


def test_float_convs_of_other_shapes_match_lce(tmp_path):
    """Float convs the LeNets do not have: VALID padding with stride 2 and no pool
    (positions grouped along rows, a short last group), SAME padding into a 3x3
    max pool that crops the conv map (a pool window larger than one group)."""
    import numpy as np

    from bnnkit import preprocess
    from bnnkit.build import make
    from bnnkit.convert import convert_model
    from bnnkit.emit import generate
    from bnnkit.reference import lce_predict
    from bnnkit.simulate import run_firmware
    from bnnkit.tfenv import keras

    keras.utils.set_random_seed(1)
    init = keras.initializers.RandomNormal(stddev=0.3)
    inp = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(5, 3, strides=2, padding="valid", activation="relu",
                            bias_initializer=init)(inp)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", bias_initializer=init)(x)
    x = keras.layers.MaxPool2D(3)(x)
    x = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    tfl = tmp_path / "convs.tflite"
    tfl.write_bytes(convert_model(keras.Model(inp, x)))
    gen = generate(tfl, "host", tmp_path / "p", input_spec=preprocess.UNIT_SCALE)
    calls = "\n".join(s for _, stmts in gen.program.calls for s in stmts)
    assert calls.count("bnn_conv2d_f32(") == 2 and "NULL" in calls  # VALID: no scratch
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    preds, scores, _ = run_firmware(gen, make(tmp_path / "p", gen.target), images, 300)
    ref = lce_predict(tfl.read_bytes(), preprocess.apply(preprocess.UNIT_SCALE, images))
    assert np.array_equal(preds, ref.argmax(1))
    assert np.array_equal(scores, ref)  # bit for bit
