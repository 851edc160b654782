"""Dataset loaders on small files the tests write, and on the real data."""

import gzip

import numpy as np
import pytest

from bnnkit import data
from bnnkit.errors import BnnkitError
from helpers import needs_fashion, ROOT


def test_idx_round_trip(small_fashion_dir):
    ds = data.load_fashion_mnist("test", data_dir=small_fashion_dir)
    assert ds.images.shape == (64, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.tolist() == [i % 10 for i in range(64)]
    assert ds.class_names[9] == "Ankle boot"
    assert ds.source == str(small_fashion_dir)


def test_data_dir_wins_over_env(small_fashion_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("BNNKIT_DATA_DIR", str(tmp_path))  # empty: would fail if used first
    assert len(data.load_fashion_mnist("train", data_dir=small_fashion_dir).labels) == 256


def test_env_dir_used(small_fashion_dir, monkeypatch):
    monkeypatch.setenv("BNNKIT_DATA_DIR", str(small_fashion_dir))
    assert data.load_fashion_mnist("train").source == str(small_fashion_dir)


def test_missing_fashion_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BNNKIT_DATA_DIR", raising=False)
    with pytest.raises(BnnkitError) as err:
        data.load_fashion_mnist("test", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in msg and str(tmp_path) in msg


def test_truncated_idx(small_fashion_dir, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes((small_fashion_dir / name).read_bytes())
    raw = gzip.decompress((tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(BnnkitError, match="t10k-images-idx3-ubyte.gz: truncated"):
        data.load_fashion_mnist("test", data_dir=tmp_path)


def test_corrupt_gzip(small_fashion_dir, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes((small_fashion_dir / name).read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage, not gzip")
    with pytest.raises(BnnkitError, match="t10k-labels-idx1-ubyte.gz: corrupt"):
        data.load_fashion_mnist("test", data_dir=tmp_path)


def _write_sign_csv(path, labels, rng):
    rows = ["label," + ",".join(f"pixel{i}" for i in range(1, 785))]
    for lab in labels:
        rows.append(",".join([str(lab)] + [str(v) for v in rng.integers(0, 256, 784)]))
    text = "\n".join(rows) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_sign_csv_labels_are_mapped(tmp_path, suffix):
    rng = np.random.default_rng(1)
    labels = [0, 8, 10, 24, 3]
    _write_sign_csv(tmp_path / f"sign_mnist_test.csv{suffix}", labels, rng)
    ds = data.load_sign_mnist("test", data_dir=tmp_path)
    assert ds.images.shape == (5, 28, 28)
    assert ds.labels.tolist() == [0, 8, 9, 23, 3]  # 10 (K) -> 9, 24 (Y) -> 23
    assert [ds.class_names[i] for i in ds.labels] == ["A", "I", "K", "Y", "D"]
    assert ds.label_table[9] == 10 and len(ds.class_names) == 24


def test_sign_label_9_rejected(tmp_path):
    _write_sign_csv(tmp_path / "sign_mnist_test.csv", [9], np.random.default_rng(2))
    with pytest.raises(BnnkitError, match=r"unknown labels \[9\]"):
        data.load_sign_mnist("test", data_dir=tmp_path)


def test_sign_missing_and_corrupt(tmp_path):
    with pytest.raises(BnnkitError, match="sign_mnist_test.csv.*not found.*Kaggle"):
        data.load_sign_mnist("test", data_dir=tmp_path)
    (tmp_path / "sign_mnist_test.csv.gz").write_bytes(b"\x1f\x8b\x08broken")
    with pytest.raises(BnnkitError, match="sign_mnist_test.csv.gz: corrupt"):
        data.load_sign_mnist("test", data_dir=tmp_path)


@needs_fashion
def test_real_fashion_mnist():
    test = data.load_fashion_mnist("test")
    assert test.images.shape == (10000, 28, 28)
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.labels[:5].tolist() == [9, 2, 1, 1, 6]
    train = data.load_fashion_mnist("train")
    assert train.images.shape == (60000, 28, 28)


SIGN_DIR = ROOT.parent / "shared" / "data" / "sign-mnist"


@pytest.mark.skipif(not (SIGN_DIR / "sign_mnist_test.csv.gz").is_file(), reason="no sign-mnist")
def test_real_sign_mnist():
    test = data.load_sign_mnist("test", data_dir=SIGN_DIR)
    assert test.images.shape == (7172, 28, 28)
    assert len(np.unique(test.labels)) == 24
