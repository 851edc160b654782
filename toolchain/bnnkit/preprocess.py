"""How raw uint8 pixels become model input, recorded in each model's sidecar.

One float32 multiply per pixel: ``x = float32(pixel) * float32(scale)``. The
generated C does the very same operation, so desktop and device see bit-identical
inputs. Threshold encodings (``bnnkit.layers.ThresholdEncoding``) live inside the
model and take ``scale = 1`` (raw 0..255 values).
"""

from __future__ import annotations

import numpy as np

UNIT_SCALE = {"kind": "scale", "scale": float(np.float32(1.0 / 255.0)), "input_dtype": "uint8",
              "description": "x = float32(pixel) * float32(1/255), pixels 0..255 -> 0..1"}
RAW_PIXELS = {"kind": "scale", "scale": 1.0, "input_dtype": "uint8",
              "description": "x = float32(pixel), raw 0..255 (the model encodes it)"}


def apply(spec: dict, images: np.ndarray) -> np.ndarray:
    """Apply ``spec`` to uint8 ``images`` (N, 28, 28) -> float32 (N, 28, 28, 1)."""
    if spec.get("kind") != "scale":
        raise ValueError(f"unknown preprocessing {spec.get('kind')!r}")
    x = images.astype(np.float32) * np.float32(spec["scale"])
    return x[..., np.newaxis]
