"""The workflow of a user with a Larq network of their own and no sidecar
(issue 28's newcomer path): convert --int8 --calibration-data, gen-firmware
--class-names, two libraries into one folder, validate and report on an .npz
(the int8 model also through --io float), analyze over a budget exiting
non-zero."""

import json

import numpy as np
import pytest

from helpers import run_cli


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    """A small binary keyword-spotting-like network on 12x10x1 float input, 4
    classes, random weights, saved as .h5 with no sidecar; calibration data
    with labels from its own float predictions."""
    import larq as lq

    from bnnkit.tfenv import keras

    tmp = tmp_path_factory.mktemp("own")
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 10, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(inp)
    x = keras.layers.BatchNormalization()(x)
    x = lq.layers.QuantConv2D(16, 3, padding="same", pad_values=1.0,
                              input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                              kernel_constraint="weight_clip", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inp, out)
    from bnnkit.public_models import randomize_batch_norms

    randomize_batch_norms(model, seed=0)  # as a trained network's: not the identity
    rng = np.random.default_rng(0)
    h5 = tmp / "kws_own.h5"
    model.save(h5)
    x = rng.normal(size=(64, 12, 10, 1)).astype(np.float32)
    y = model.predict(x, verbose=0).argmax(axis=1)
    np.savez(tmp / "calib.npz", x=x, y=y)
    (tmp / "labels.txt").write_text("yes\nno\nup\ndown\n")
    return tmp


def test_int8_from_your_own_calibration_data(own_model):
    tmp = own_model
    out = tmp / "kws_own_int8.tflite"
    res = run_cli("convert", tmp / "kws_own.h5", "--int8", "--calibration-data",
                  tmp / "calib.npz", "--calibration-images", "48", "-o", out)
    assert res.returncode == 0, res.stderr
    assert "int8 accuracy on the calibration data" in res.stdout
    q = json.loads(out.with_suffix(".json").read_text())["int8"]
    assert q["calibration_set"] == "the first 48 inputs of calib.npz"
    assert 0 <= q["calibration_data_accuracy"] <= 1 and "test_accuracy" not in q
    # the layers left in float32 are named, in the sidecar and on the terminal
    assert isinstance(q["float_layers"], list)
    assert ("every layer runs int8" in res.stdout) == (q["float_layers"] == [])
    from bnnkit.tflite_reader import read_tflite

    g = read_tflite(out)
    assert g.tensor(g.inputs[0]).dtype == "int8" and "LceBconv2d" in g.op_counts()


def test_your_model_through_the_whole_workflow(own_model):
    tmp = own_model
    int8 = tmp / "kws_own_int8.tflite"
    if not int8.exists():
        assert run_cli("convert", tmp / "kws_own.h5", "--int8", "--calibration-data",
                       tmp / "calib.npz", "-o", int8).returncode == 0
    fw = tmp / "fw"
    res = run_cli("gen-firmware", int8, "--name", "kws", "--class-names", tmp / "labels.txt",
                  "-o", fw)
    assert res.returncode == 0, res.stderr
    res = run_cli("gen-firmware", tmp / "kws_own.h5", "--name", "kws_float", "-o", fw)
    assert res.returncode == 0, res.stderr
    assert (fw / "kws" / "kws.h").is_file() and (fw / "kws_float" / "kws_float.h").is_file()
    # validate the int8 library on int8 inputs, the float one on the float .npz
    x = np.load(tmp / "calib.npz")["x"]
    from bnnkit.tflite_reader import read_tflite

    t = read_tflite(int8).tensor(read_tflite(int8).inputs[0])
    from bnnkit.ops._quant import quantize_f32

    np.savez(tmp / "x8.npz", x=quantize_f32(x, float(t.scale[0]), int(t.zero_point[0])),
             y=np.load(tmp / "calib.npz")["y"])
    report = tmp / "v.json"
    res = run_cli("validate", int8, "--data", tmp / "x8.npz", "--class-names",
                  tmp / "labels.txt", "--json", report)
    assert res.returncode == 0, res.stderr
    v = json.loads(report.read_text())
    assert v["agreement"] == 1.0 and v["max_abs_diff"] == 0 and v["class_names"][0] == "yes"
    res = run_cli("validate", tmp / "kws_own.h5", "--data", tmp / "calib.npz")
    assert res.returncode == 0, res.stderr
    # the int8 library with float32 in and out takes the float .npz as it is
    res = run_cli("validate", int8, "--data", tmp / "calib.npz", "--io", "float", "--json", report)
    assert res.returncode == 0, res.stderr
    assert json.loads(report.read_text())["agreement"] == 1.0
    # report on the user's own data, names from the file: no built-in dataset needed
    res = run_cli("report", int8, "--data", tmp / "x8.npz", "--class-names", tmp / "labels.txt",
                  "--target", "host", "--name", "own", "--docs", tmp / "docs")
    assert res.returncode == 0, res.stderr
    rows = json.loads((tmp / "docs" / "report-own.json").read_text())
    assert rows[0]["n_images"] == 64 and rows[0]["agreement"] == 1.0
    assert rows[0]["dataset"] == "x8.npz" and "accuracy" in rows[0]
    # over a 1 KiB RAM budget: the verdict, and exit 3 for a CI job to gate on
    res = run_cli("analyze", int8, "--target", "cortex-m4", "--ram-kib", "1")
    assert res.returncode == 3 and "DOES NOT FIT" in res.stdout, res.stdout[-500:]


def test_an_h5_is_converted_once(own_model, tmp_path, monkeypatch):
    """Commands on a .h5 convert it with LCE once; the next ones read the
    flatbuffer cached by content (a changed file, or a damaged cache entry,
    converts again)."""
    import shutil

    from bnnkit import convert
    from bnnkit.emit import load_graph

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []
    real = convert.convert_model
    monkeypatch.setattr(convert, "convert_model", lambda *a: calls.append(1) or real(*a))
    h5 = tmp_path / "m.h5"
    shutil.copy(own_model / "kws_own.h5", h5)
    _, first = load_graph(h5)
    _, again = load_graph(h5)
    assert len(calls) == 1 and first == again
    (entry,) = (tmp_path / "cache" / "bnnkit" / "converted").iterdir()
    entry.write_bytes(b"damaged")
    assert load_graph(h5)[1] == first and len(calls) == 2
    h5.write_bytes(h5.read_bytes() + b"\0")  # other bytes: another key
    load_graph(h5)
    assert len(calls) == 3


def test_simulate_and_analyze_take_your_data(own_model, tmp_path):
    """simulate --data and analyze --measure --data: the user's own inputs on
    the emulated device (accuracies from its labels), the first one measured."""
    tmp = own_model
    out = tmp_path / "s.json"
    res = run_cli("simulate", tmp / "kws_own.h5", "--target", "cortex-m4", "--data",
                  tmp / "calib.npz", "--limit", "6", "--json", out)
    assert res.returncode == 0, res.stderr
    record = json.loads(out.read_text())
    assert record["n_images"] == 6 and record["agreement"] == 1.0 and "accuracy" in record
    assert record["instructions_per_inference"] > 0
    res = run_cli("analyze", tmp / "kws_own.h5", "--target", "cortex-m4", "--measure",
                  "--data", tmp / "calib.npz")
    assert res.returncode == 0, res.stderr
    assert "instructions per inference:" in res.stdout
