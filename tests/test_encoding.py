"""Threshold encoding of the input (paper 001): layer, conversion, device kernel."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bnnkit.errors import BnnkitError
from bnnkit.layers import encode_numpy, parse_thresholds


def threshold_lists():
    return st.lists(st.integers(0, 255), min_size=2, max_size=8, unique=True).map(sorted)


def _manual_reference(pixels, t):
    """Straight from the definition: channel k = 1 where t_k <= p < t_{k+1},
    the last interval closed at 255."""
    out = np.zeros(pixels.shape + (len(t) - 1,), np.float32)
    for k in range(len(t) - 1):
        last = k == len(t) - 2
        out[..., k] = (pixels >= t[k]) & ((pixels <= 255) if last else (pixels < t[k + 1]))
    return out


@settings(max_examples=40, deadline=None)
@given(t=threshold_lists(), seed=st.integers(0, 2**31))
def test_layer_matches_reference(t, seed):
    from bnnkit.layers import ThresholdEncoding

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(2, 28, 28)).astype(np.float32)
    pixels[0, 0, :len(t)] = t  # pixels equal to each threshold
    pixels[0, 1, :3] = [0, 255, 254]
    expected = _manual_reference(pixels, t)
    np.testing.assert_array_equal(encode_numpy(pixels, t), expected)
    layer = ThresholdEncoding(t)
    got = layer(pixels[..., np.newaxis]).numpy()
    np.testing.assert_array_equal(got, expected)


def test_thermometer_mode():
    p = np.array([0, 89, 90, 149, 150, 255], np.float32)
    got = encode_numpy(p, [0, 90, 150, 255], "thermometer")
    assert got.tolist() == [[0, 0], [0, 0], [1, 0], [1, 0], [1, 1], [1, 1]]


@pytest.mark.parametrize("bad,msg", [
    ("150,0,255", "increasing"), ("0,150,150,255", "duplicate"), ("0,300", "0..255"),
    ("-1,10", "0..255"), ("7", "at least two"), ("0,1.5,255", "integers"), ("a,b", "not a comma"),
])
def test_bad_thresholds(bad, msg):
    with pytest.raises(BnnkitError, match=msg):
        parse_thresholds(bad)


def test_cli_rejects_bad_thresholds():
    from helpers import run_cli

    res = run_cli("train", "signnet", "--thresholds", "0,200,100,255")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "increasing" in res.stderr


@pytest.fixture(scope="module")
def encoded_model(tmp_path_factory):
    """An untrained LeNet behind a 3-interval encoding, saved, reloaded, converted."""
    from bnnkit import metadata, preprocess, zoo
    from bnnkit.convert import convert
    from bnnkit.layers import ThresholdEncoding

    from bnnkit.tfenv import keras

    d = tmp_path_factory.mktemp("enc")
    keras.utils.set_random_seed(0)
    model = zoo.build("lenet_bin3",
                      input_layers=[ThresholdEncoding([0, 90, 150, 255], name="threshold_encoding")])
    # Trained-like parameters: non-zero biases and batch-norm statistics. (With
    # all-zero biases, TFLite's conv can produce -0.0, which LCE's quantizer reads
    # as negative while Keras's sign reads +1; trained models never sit there.)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if "bn" in layer.name:  # beta, moving mean, moving variance
            weights = [rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in weights[:2]] + \
                      [rng.uniform(0.5, 2.0, size=weights[2].shape).astype(np.float32)]
        elif layer.name.startswith("conv"):
            weights = [weights[0], rng.normal(scale=0.1, size=weights[1].shape).astype(np.float32)]
        layer.set_weights(weights)
    model.save(d / "enc.h5", save_format="h5")
    metadata.write(d / "enc.json", {"dataset": "fashion-mnist", "preprocessing": preprocess.RAW_PIXELS,
                                     "class_names": [str(i) for i in range(10)]})
    return model, d / "enc.h5", convert(d / "enc.h5")


def test_serialization_round_trip(encoded_model):
    from bnnkit.convert import load_keras

    model, h5, _ = encoded_model
    loaded = load_keras(h5)
    layer = loaded.get_layer("threshold_encoding")
    assert layer.thresholds == [0, 90, 150, 255] and layer.mode == "interval"
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_conversion_is_lowered_to_interval_indices(encoded_model):
    from bnnkit.lower import lower
    from bnnkit.tflite_reader import read_tflite

    _, _, tfl = encoded_model
    graph = read_tflite(tfl)
    assert {"GREATER_EQUAL", "LESS", "LOGICAL_AND", "CAST"} <= set(graph.op_counts())
    low = lower(graph)
    enc = [n for n in low.nodes if n.kind == "threshold_encode"]
    assert len(enc) == 1 and not enc[0].params["planes"]
    assert enc[0].consts["lower"].tolist() == [0, 90, 150]
    # LeNet's 5x5 SAME conv: a 32x32 map of interval bytes (2 pixels of padding)
    assert enc[0].params["index_map"] == (2, 2, 32, 32)
    assert low.shapes[enc[0].outputs[0]] == (256,)  # 1,024 bytes


def test_thermometer_encoding_is_lowered_to_bit_planes(tmp_path):
    """Overlapping channels (pixel >= t_k) are not one interval per pixel: the
    conv reads bit-planes, and matches LCE bit for bit."""
    from bnnkit import zoo
    from bnnkit.convert import convert_model
    from bnnkit.layers import ThresholdEncoding
    from bnnkit.lower import lower
    from bnnkit.simulate import compare_on_inputs
    from bnnkit.tflite_reader import parse_tflite
    from bnnkit.tfenv import keras

    keras.utils.set_random_seed(1)
    model = zoo.build("lenet_bin3", input_layers=[ThresholdEncoding([0, 90, 150, 200, 255],
                                                                    mode="thermometer")])
    for layer in model.layers:
        if layer.name.startswith("conv"):
            w = layer.get_weights()
            layer.set_weights([w[0], np.full(w[1].shape, 0.05, np.float32)])
    path = tmp_path / "thermo.tflite"
    path.write_bytes(convert_model(model))
    low = lower(parse_tflite(path.read_bytes(), "thermo"))
    enc = [n for n in low.nodes if n.kind == "threshold_encode"]
    assert enc[0].params["planes"] and not enc[0].params.get("index_map")
    x = np.random.default_rng(2).integers(0, 256, (40, 28, 28, 1)).astype(np.float32)
    c, ref, gen = compare_on_inputs(path, x, build_dir=tmp_path)
    assert "bnn_conv2d_planes_f32.c" in gen.program.kernel_files
    np.testing.assert_array_equal(c.view(np.uint32), ref.view(np.uint32))


def test_device_encoding_bit_exact_with_keras(encoded_model, tmp_path):
    """The C encoder's planes equal the Keras layer's channels on random images."""
    import ctypes

    from bnnkit.lower import pack_bits
    from kernels.kernel_lib import build, ptr

    model, _, _ = encoded_model
    lib = build(tmp_path)
    layer = model.get_layer("threshold_encoding")
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (28, 28)).astype(np.float32)
    img[0, :4] = [0, 90, 150, 255]
    keras_channels = layer(img[np.newaxis, ..., np.newaxis]).numpy()[0]  # (28, 28, 3)
    lo = np.array(layer.lower, np.float32)
    hi = np.array(layer.upper, np.float32)
    planes = np.zeros((3, 25), np.uint32)
    lib.bnn_threshold_encode_planes(ptr(img), 784, ptr(lo), ptr(hi), 3, ptr(planes))
    expected = pack_bits(keras_channels.reshape(784, 3).T.astype(bool))
    np.testing.assert_array_equal(planes, expected)
    floats = np.zeros((784, 3), np.float32)
    lib.bnn_threshold_encode_f32(ptr(img), 784, ptr(lo), ptr(hi), 3, ptr(floats))
    np.testing.assert_array_equal(floats, keras_channels.reshape(784, 3))
    del ctypes


def test_encoded_model_host_matches_lce(encoded_model, tmp_path):
    from bnnkit.data import FASHION_SYSTEM_DIR
    from bnnkit.simulate import simulate

    if not (FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("dataset-fashion-mnist not installed")
    _, _, tfl = encoded_model
    record, extra = simulate(tfl, "host", limit=100, build_dir=tmp_path)
    assert record["agreement"] == 1.0 and record["max_abs_diff"] == 0
    assert "bnn_conv2d_index_f32.c" in extra["generated"].program.kernel_files
