"""How raw input becomes model input, recorded in each model's sidecar.

Two kinds:

- ``scale``: uint8 pixels, ``x = float32(pixel) * float32(scale) [+ float32(offset)]``
  (one float32 rounding per operation). The generated C does the very same
  operations, so desktop and device see bit-identical inputs. Threshold encodings
  (``bnnkit.layers.ThresholdEncoding``) live inside the model and take ``scale = 1``
  (raw 0..255 values).
- ``none``: the model's own float32 input, passed through unchanged. This is what a
  model without a sidecar gets: bnnkit does not guess how its inputs were made.

Example:
    >>> spec = uint8_scale(1 / 255)
    >>> apply(spec, np.array([[0, 255]], np.uint8), (2,)).tolist()
    [[0.0, 1.0]]
"""

from __future__ import annotations

import math

import numpy as np

from .errors import BnnkitError

UNIT_SCALE = {"kind": "scale", "scale": float(np.float32(1.0 / 255.0)), "input_dtype": "uint8",
              "description": "x = float32(pixel) * float32(1/255), pixels 0..255 -> 0..1"}
RAW_PIXELS = {"kind": "scale", "scale": 1.0, "input_dtype": "uint8",
              "description": "x = float32(pixel), raw 0..255 (the model encodes it)"}
FLOAT_INPUT = {"kind": "none", "input_dtype": "float32",
               "description": "the model's own float32 input, unchanged"}


def _float32(v: float, what: str, where: str) -> float:
    """``v`` as the float32 the C computes with: finite there, and not a nonzero
    value that rounds to 0 (a scale of 0 maps every pixel to one value)."""
    if not math.isfinite(v):
        raise BnnkitError(f"{where}{what} {v!r} is not a finite number")
    if abs(v) > float(np.finfo(np.float32).max):
        raise BnnkitError(f"{where}{what} {v!r} is outside float32 (it would be infinite in C)")
    f = float(np.float32(v))
    if f == 0 and (v != 0 or what == "scale"):
        raise BnnkitError(f"{where}{what} {v!r} is 0 in float32" + (
            ": every pixel would map to one value" if what == "scale" else ""))
    return f


def uint8_scale(scale: float, offset: float = 0.0, source: str | None = None) -> dict:
    """A ``scale`` spec for uint8 input: x = pixel * scale + offset in float32
    (both checked as the float32 values the C uses; errors name ``source``'s
    preprocessing, else the options --scale and --offset).

    Example:
        >>> uint8_scale(1e-46)
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: --scale 1e-46 is 0 in float32: every pixel would map to one value
    """
    where = f"{source}: preprocessing " if source else "--"
    s, o = _float32(scale, "scale", where), _float32(offset, "offset", where)
    spec = {"kind": "scale", "scale": s, "input_dtype": "uint8",
            "description": f"x = float32(pixel) * {s!r}" + (f" + {o!r}" if o else "")}
    if o:
        spec["offset"] = o
    return spec


def check(spec, source: str) -> dict:
    """Validate a spec read from a sidecar; a clear error names ``source``.
    Returns the spec with its description filled in (bnnkit's own wording when
    the sidecar has none).

    Example:
        >>> check({"kind": "scale", "scale": 0.5}, "m.json")["description"]
        'x = float32(pixel) * 0.5'
    """
    if not isinstance(spec, dict) or spec.get("kind") not in ("scale", "none"):
        raise BnnkitError(f"{source}: 'preprocessing' must be an object with kind 'scale' or "
                          "'none'")
    if spec["kind"] == "none":
        extra = sorted(k for k in ("scale", "offset") if k in spec)
        if extra:  # the input passes through: a scale would mean nothing, or mislead
            raise BnnkitError(f"{source}: preprocessing kind 'none' takes no {extra[0]}")
        out = dict(FLOAT_INPUT)
    else:
        for key in ("scale", "offset"):
            v = spec.get(key, 0.0 if key == "offset" else None)
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 128:
                shown = str(v) if len(str(v)) < 40 else f"{str(v)[:12]}... ({len(str(v))} digits)"
                raise BnnkitError(f"{source}: preprocessing {key} {shown} is outside float32")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise BnnkitError(f"{source}: preprocessing {key} must be a finite number "
                                  f"(got {v!r})")
        out = uint8_scale(float(spec["scale"]), float(spec.get("offset", 0.0)), source)
    want = out["input_dtype"]
    if spec.get("input_dtype", want) != want:
        raise BnnkitError(f"{source}: preprocessing kind {spec['kind']!r} takes "
                          f"input_dtype {want!r} (got {spec.get('input_dtype')!r})")
    description = spec.get("description", out["description"])
    if not isinstance(description, str):
        raise BnnkitError(f"{source}: preprocessing description must be a string")
    return {**out, **spec, "description": description}


def is_uint8(spec: dict) -> bool:
    return spec.get("kind") == "scale"


def apply(spec: dict, images: np.ndarray, input_shape: tuple | None = None,
          quant: tuple | None = None) -> np.ndarray:
    """Model input from raw ``images`` (N, ...): uint8 pixels scaled as ``spec``
    says, or the model's own values passed through. Reshaped to (N,) +
    ``input_shape`` when given (default: a trailing channel axis, the 28x28
    datasets' layout). ``quant`` = (scale, zero_point) of an int8 model input:
    the scaled pixels are then quantized as TFLite's QUANTIZE does
    (:func:`bnnkit.ops._quant.quantize_f32`), and passed-through values are int8.

    Example:
        >>> apply(UNIT_SCALE, np.array([[0, 255]], np.uint8), (2,),
        ...       quant=(1 / 255, -128)).tolist()
        [[-128, 127]]
    """
    if spec.get("kind") == "none":
        x = np.asarray(images, np.int8 if quant is not None else np.float32)
    elif spec.get("kind") == "scale":
        x = images.astype(np.float32) * np.float32(spec["scale"])
        if spec.get("offset"):
            x = x + np.float32(spec["offset"])
        if quant is not None:
            from .ops._quant import quantize_f32

            x = quantize_f32(x, *quant)
    else:
        raise ValueError(f"unknown preprocessing {spec.get('kind')!r}")
    if input_shape is not None:
        return x.reshape((len(x),) + tuple(input_shape))
    return x[..., np.newaxis] if spec.get("kind") == "scale" else x
