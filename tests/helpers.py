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


def power_of_two_scales(fb: bytes, filters=(4,)) -> bytes:
    """The flatbuffer with every int8 activation scale and the filter scales
    of the ops in ``filters`` (builtin codes: 3 CONV_2D, 4 DEPTHWISE_CONV_2D,
    9 FULLY_CONNECTED) rounded to a power of two (biases rescaled to match, as
    TFLite checks): their multipliers become exactly 2^30 with a shift, so
    that many sums are exact ties of both roundings."""
    from tensorflow.lite.tools import flatbuffer_utils as fu

    model = fu.convert_bytearray_to_object(bytearray(fb))
    sg = model.subgraphs[0]

    def pow2(v):
        return np.float32(2.0) ** np.round(np.log2(np.asarray(v, np.float64))).astype(np.float32)

    for t in sg.tensors:
        q = t.quantization
        if t.type == 9 and q is not None and q.scale is not None and len(q.scale) == 1:
            q.scale = pow2(q.scale)  # int8 activations (and per-tensor weights)
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) not in (3, 4, 9):
            continue  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
        inp, w = sg.tensors[op.inputs[0]], sg.tensors[op.inputs[1]]
        if max(code.builtinCode, code.deprecatedBuiltinCode) in filters:
            w.quantization.scale = pow2(w.quantization.scale)
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            sg.tensors[op.inputs[2]].quantization.scale = (
                np.float32(inp.quantization.scale[0]) * np.asarray(w.quantization.scale,
                                                                   np.float32))
    return bytes(fu.convert_object_to_bytearray(model))
