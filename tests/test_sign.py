"""The paper-001 models (signnet on Sign Language MNIST) as shipped."""

import json

import numpy as np
import pytest

from bnnkit.signnet import PAPER_SIGN, model_name
from helpers import MODELS, ROOT

SIGN_MODELS = [model_name(t) for t in PAPER_SIGN]
SIGN_DATA = ROOT.parent / "shared" / "data" / "sign-mnist"


def _meta(name):
    return json.loads((MODELS / f"{name}.json").read_text())


@pytest.mark.parametrize("thresholds", list(PAPER_SIGN))
def test_sidecar_records_thresholds_and_letters(thresholds):
    meta = _meta(model_name(thresholds))
    assert meta["dataset"] == "sign-mnist"
    assert meta.get("thresholds") == (list(thresholds) if thresholds else None)
    assert len(meta["class_names"]) == 24 and meta["class_names"][9] == "K"
    assert meta["label_table"]["9"] == 10  # contiguous 9 is the file's label 10 (K)
    assert (MODELS / f"{model_name(thresholds)}.tflite").is_file()


def test_targets_of_the_paper():
    """Float baseline >= 94.9 % (reached with 24 epochs; the 12-epoch run of the
    full sweep stays below, see the report), best list within 1.5 points of 95.6 %,
    and the [0,200,255] collapse."""
    assert _meta("signnet_float_e24")["keras_test_accuracy"] >= 0.949
    best = _meta(model_name((0, 90, 150, 170, 210, 255)))["keras_test_accuracy"]
    assert best >= 0.956 - 0.015
    collapse = _meta(model_name((0, 200, 255)))["keras_test_accuracy"]
    assert collapse < best - 0.15


@pytest.mark.parametrize("target", ["host", "cortex-m4"])
def test_encoded_signnet_matches_lce_from_raw_pixels(tmp_path, target):
    """The device thresholds raw pixels itself; its scores match LCE's on images
    (random here, so the test needs no dataset)."""
    from bnnkit import preprocess
    from bnnkit.build import make
    from bnnkit.emit import generate
    from bnnkit.reference import lce_predict
    from bnnkit.simulate import run_firmware

    name = model_name((0, 90, 150, 170, 210, 255))
    gen = generate(MODELS / f"{name}.tflite", target, tmp_path / "p")
    assert "bnn_threshold_encode.c" in gen.program.kernel_files
    exe = make(tmp_path / "p", gen.target)
    images = np.random.default_rng(0).integers(0, 256, (60, 28, 28), dtype=np.uint8)
    preds, scores, _ = run_firmware(gen, exe, images, 300)
    ref = lce_predict(gen.flatbuffer, preprocess.apply(gen.meta["preprocessing"], images))
    assert np.mean(preds == ref.argmax(1)) >= 0.98
    assert np.max(np.abs(scores - ref)) <= 1e-4


@pytest.mark.skipif(not (SIGN_DATA / "sign_mnist_test.csv.gz").is_file(), reason="no sign-mnist")
def test_signnet_on_real_test_images(tmp_path):
    from bnnkit.simulate import simulate

    record, _ = simulate(MODELS / f"{model_name((0, 90, 150, 170, 210, 255))}.tflite", "host",
                         limit=500, data_dir=SIGN_DATA, build_dir=tmp_path)
    assert record["agreement"] >= 0.998 and record["max_abs_diff"] <= 1e-4
