"""How raw input becomes model input, recorded in each model's sidecar.

Two kinds:

- ``scale``: uint8 pixels, ``x = float32(pixel) * float32(scale) [+ float32(offset)]``,
  or per channel ``c`` (the input's last axis) ``x = (float32(pixel) * scale - mean[c])
  / std[c]`` (torchvision's ``Normalize`` after ``ToTensor``), one float32 rounding per
  operation. The generated C does the very same
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


MAX_CHANNELS = 4096  # per-channel mean/std entries a spec may hold


def uint8_scale(scale: float, offset: float = 0.0, source: str | None = None,
                mean=None, std=None) -> dict:
    """A ``scale`` spec for uint8 input: x = pixel * scale + offset in float32,
    or with per-channel ``mean`` and ``std`` (lists, one value per channel or
    one for all) x = (pixel * scale - mean[c]) / std[c]. Every number is checked
    as the float32 value the C uses; errors name ``source``'s preprocessing,
    else the options --scale, --offset, --mean and --std.

    Example:
        >>> uint8_scale(1 / 255, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])["description"]
        'x = (float32(pixel) * 0.003921568859368563 - mean[c]) / std[c], 3 channels'
        >>> uint8_scale(1e-46)
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: --scale 1e-46 is 0 in float32: every pixel would map to one value
    """
    where = f"{source}: preprocessing " if source else "--"
    s, o = _float32(scale, "scale", where), _float32(offset, "offset", where)
    if (mean is None) != (std is None):
        raise BnnkitError(f"{where}mean and {'' if source else '--'}std go together")
    if mean is not None:
        if o:
            raise BnnkitError(f"{where}offset and mean/std: give one or the other")
        mean, std = list(mean), list(std)
        if not 1 <= len(mean) <= MAX_CHANNELS or len(std) != len(mean):
            raise BnnkitError(f"{where}mean and std need the same number of values "
                              f"(1 to {MAX_CHANNELS}), not {len(mean)} and {len(std)}")
        m = [_float32(v, "mean", where) for v in mean]
        sd = [_float32(v, "std", where) for v in std]
        if any(v == 0 for v in sd):
            raise BnnkitError(f"{where}std must not be 0")
        return {"kind": "scale", "scale": s, "mean": m, "std": sd, "input_dtype": "uint8",
                "description": f"x = (float32(pixel) * {s!r} - mean[c]) / std[c], "
                               f"{len(m)} channel{'s' if len(m) > 1 else ''}"}
    spec = {"kind": "scale", "scale": s, "input_dtype": "uint8",
            "description": f"x = float32(pixel) * {s!r}" + (f" + {o!r}" if o else "")}
    if o:
        spec["offset"] = o
    return spec


def check_channels(spec: dict, input_shape, where: str) -> None:
    """Per-channel mean/std must have one value, or one per channel of the
    input's last axis.

    Example:
        >>> check_channels(uint8_scale(1, mean=[0, 0], std=[1, 1]), (28, 28, 3), "m.json")
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: m.json: preprocessing has 2 mean/std values for an input of 3 channels (28x28x3)
    """
    if "mean" not in spec:
        return
    channels = int(input_shape[-1]) if len(input_shape) else 1
    if len(spec["mean"]) not in (1, channels):
        raise BnnkitError(f"{where}: preprocessing has {len(spec['mean'])} mean/std values for "
                          f"an input of {channels} channel{'s' if channels > 1 else ''} ({'x'.join(map(str, input_shape))})")


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
        def number(key, v):
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 128:
                shown = str(v) if len(str(v)) < 40 else f"{str(v)[:12]}... ({len(str(v))} digits)"
                raise BnnkitError(f"{source}: preprocessing {key} {shown} is outside float32")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise BnnkitError(f"{source}: preprocessing {key} must be a finite number "
                                  f"(got {v!r})")
            return float(v)

        for key in ("scale", "offset"):
            number(key, spec.get(key, 0.0 if key == "offset" else None))
        per_channel = {}
        for key in ("mean", "std"):
            if key in spec:
                v = spec[key]
                if not isinstance(v, list) or len(v) > MAX_CHANNELS:
                    raise BnnkitError(f"{source}: preprocessing {key} must be a list of at most "
                                      f"{MAX_CHANNELS} numbers, one per channel")
                per_channel[key] = [number(key, x) for x in v]
        out = uint8_scale(float(spec["scale"]), float(spec.get("offset", 0.0)), source,
                          per_channel.get("mean"), per_channel.get("std"))
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
        x = np.asarray(images)
        if quant is not None and x.dtype.kind == "f":  # float given to an int8 input (--io float)
            from .ops._quant import quantize_f32

            x = quantize_f32(x, *quant)
        x = x.astype(np.int8 if quant is not None else np.float32)
    elif spec.get("kind") == "scale":
        x = images.astype(np.float32) * np.float32(spec["scale"])
        if spec.get("offset"):
            x = x + np.float32(spec["offset"])
        if "mean" in spec:  # per channel, the input's last axis
            shape = tuple(input_shape) if input_shape is not None else images.shape[1:] + (1,)
            check_channels(spec, shape, "input")
            x = x.reshape((len(x),) + shape)
            x = (x - np.asarray(spec["mean"], np.float32)) / np.asarray(spec["std"], np.float32)
        if quant is not None:
            from .ops._quant import quantize_f32

            x = quantize_f32(x, *quant)
    else:
        raise ValueError(f"unknown preprocessing {spec.get('kind')!r}")
    if input_shape is not None:
        return x.reshape((len(x),) + tuple(input_shape))
    return x[..., np.newaxis] if spec.get("kind") == "scale" else x
