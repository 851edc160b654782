"""Shared fixtures: small datasets written by the tests, the shipped models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
LENETS = ("lenet_float", "lenet_bin1", "lenet_bin2", "lenet_bin3")

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["BNNKIT_NO_DOWNLOAD"] = "1"  # no network here; tests never download


def run_cli(*args, cwd=None, timeout=600):
    """Run the real ``bnnkit`` console script; returns CompletedProcess."""
    exe = Path(sys.executable).parent / "bnnkit"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def small_fashion_dir(tmp_path_factory):
    """A tiny Fashion-MNIST in IDX gz form: 256 train and 64 test images."""
    from bnnkit.data import write_idx_gz

    d = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 256), ("t10k", 64)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, lab in enumerate(labels):  # a learnable pattern: a bright row per class
            images[i, 2 + 2 * lab, :] = 250
        write_idx_gz(d / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(d / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return d


def fashion_installed() -> bool:
    return Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file()


needs_fashion = pytest.mark.skipif(not fashion_installed(),
                                   reason="dataset-fashion-mnist not installed")
