"""Helpers shared by the tests: paths, the CLI, data availability."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def fashion_installed() -> bool:
    return Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file()


needs_fashion = pytest.mark.skipif(not fashion_installed(),
                                   reason="dataset-fashion-mnist not installed")
