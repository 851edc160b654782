"""bnnkit validate: the user's own data through the generated C and LCE."""

import json

import numpy as np
import pytest

from helpers import MODELS, needs_fashion, run_cli


@pytest.fixture(scope="module")
def fashion_50():
    from bnnkit import data

    ds = data.load_fashion_mnist("test")
    return ds.images[:50], ds.labels[:50].astype(np.int64)


@needs_fashion
def test_npz_and_image_folder_reproduce_simulate(tmp_path, fashion_50):
    from PIL import Image

    x, y = fashion_50
    npz = tmp_path / "mine.npz"
    np.savez(npz, x=x, y=y)
    folder = tmp_path / "photos"
    for i, (img, label) in enumerate(zip(x, y)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / str(label) / f"{i:03d}.png")
    sim = tmp_path / "s.json"
    res = run_cli("simulate", MODELS / "lenet_bin3.tflite", "--limit", "50", "--json", sim)
    assert res.returncode == 0, res.stderr
    record = json.loads(sim.read_text())
    reports = []
    for data in (npz, folder):
        out = tmp_path / f"{data.stem}.json"
        res = run_cli("validate", MODELS / "lenet_bin3.tflite", "--data", data, "--json", out)
        assert res.returncode == 0, res.stderr
        reports.append(json.loads(out.read_text()))
    for r in reports:
        assert r["n_inputs"] == 50 and r["accuracy"] == record["accuracy"]
        assert r["reference_accuracy"] == record["reference_accuracy"]
        assert r["agreement"] == 1.0 and r["max_abs_diff"] == 0 and r["rmse"] == 0
        assert r["cosine"] == pytest.approx(1.0)
        assert "keras_accuracy" in r and r["keras_agreement"] >= 0.98  # the .h5 beside it
        assert np.array(r["confusion"]).sum() == 50
        assert np.trace(r["confusion"]) == round(50 * r["accuracy"])
    # the folder's images are the same pixels (PNG is lossless, no resize needed)
    assert reports[0]["confusion"] == reports[1]["confusion"]


@needs_fashion
def test_int8_model_on_the_m4_with_an_npz_without_labels(tmp_path, fashion_50):
    npz = tmp_path / "x.npz"
    np.savez(npz, x=fashion_50[0][:5])
    res = run_cli("validate", MODELS / "lenet_bin3_int8.tflite", "--data", npz,
                  "--target", "cortex-m4")
    assert res.returncode == 0, res.stderr
    assert "5 inputs" in res.stdout and "agreement with LCE 100.00 %" in res.stdout
    assert "max |diff|         0 " in res.stdout and "accuracy" not in res.stdout


@pytest.mark.parametrize("make_data,says", [
    (lambda p: np.savez(p, images=np.zeros((2, 28, 28), np.uint8)), "no array 'x'"),
    (lambda p: np.savez(p, x=np.zeros((2, 27, 28), np.uint8)), "the model takes 28x28x1"),
    (lambda p: np.savez(p, x=np.zeros((2, 28, 28), np.float32)), "the model takes uint8 pixels"),
    (lambda p: np.savez(p, x=np.zeros((2, 28, 28), np.uint8), y=np.array([0, 10])),
     "the model has 10 outputs"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really"), "not a readable .npz"),
    (lambda p: None, "no such file or folder"),
])
def test_bad_data_is_one_line(tmp_path, make_data, says):
    path = tmp_path / "d.npz"
    make_data(path)
    res = run_cli("validate", MODELS / "lenet_bin3.tflite", "--data", path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], res.stderr


def test_images_from_your_own_data_feed_the_example_app(tmp_path):
    """bnnkit images --data my.npz --model M: the app's input file from the user's
    inputs; the app classifies each (and the file is readable as any other)."""
    import stat
    import subprocess

    import numpy as np

    from helpers import MODELS, run_cli

    x = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "my.npz", x=x, y=np.arange(7) % 10)
    out = tmp_path / "fw"
    assert run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", out).returncode == 0
    images = out / "app" / "images.bin"
    res = run_cli("images", "--data", tmp_path / "my.npz", "--model",
                  MODELS / "lenet_bin3.tflite", "-o", images)
    assert res.returncode == 0, res.stderr
    assert images.read_bytes() == x.tobytes()
    assert (out / "app" / "images.bin.labels").read_bytes() == bytes(range(7))
    assert stat.S_IMODE(images.stat().st_mode) & 0o044  # not 0600 like mkstemp's
    subprocess.run(["make", "-s", "-C", str(out / "app"), "run"], check=True,
                   capture_output=True)
    lines = (out / "app" / "predictions.txt").read_text().splitlines()
    assert "# images 7" in lines
    res = run_cli("images", "--data", tmp_path / "my.npz")
    assert res.returncode == 2 and "--data and --model" in res.stderr
