"""Helpers shared by the tests: paths, the CLI, data availability."""

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


def fashion_installed() -> bool:
    return Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file()


needs_fashion = pytest.mark.skipif(not fashion_installed(),
                                   reason="dataset-fashion-mnist not installed")


def screenshot(html_path, png_path, width=1200, height=1600):
    """Render an HTML file in headless Chromium (Debian's, from the Makefile's
    packages) and return the PNG's pixels as an (h, w, channels) uint8 array."""
    from PIL import Image

    res = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", f"--window-size={width},{height}",
                          f"--screenshot={png_path}", Path(html_path).resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and Path(png_path).is_file(), res.stderr[-2000:]
    return np.asarray(Image.open(png_path).convert("RGB"))


def assert_not_blank(pixels):
    """A rendered page shows something: enough non-white pixels, in more than two colours."""
    ink = (pixels < 200).any(axis=2)
    assert ink.mean() > 0.02, f"only {100 * ink.mean():.2f} % of the page is drawn"
    colours = {tuple(p) for p in pixels[::7, ::7].reshape(-1, 3)}
    assert len(colours) > 20, f"{len(colours)} colours: a blank or one-colour page"
