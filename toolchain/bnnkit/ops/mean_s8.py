"""MEAN over constant axes, int8 (bnn_mean_s8.c), bit-exact with LCE's interpreter.

TFLite 2.16 (reduce.cc, EvalMean, kGenericOptimized) has two int8 paths, both
integer arithmetic on the int32 sum of each output's ``n`` values, and this
module reproduces each:

- the spatial mean: keep_dims true, a 4-D input and the axes tensor exactly
  ``[1, 2]`` or ``[2, 1]`` (optimized_integer_ops::Mean). With real scales
  ``si``, ``so`` and zero points ``zi``, ``zo``: ``bias = zo - round(zi * si /
  so)`` (float32 products, rounded half away from zero), the multiplier of
  ``si / (n * so)`` (float32) by QuantizeMultiplier, and each output is
  ``clamp(MultiplyByQuantizedMultiplier(sum) + bias)``. Channels in whole
  blocks of 16 go through the vector code (NEON, or NEON_2_SSE on x86), whose
  rounding shift breaks ties toward +inf; the remaining channels through the
  scalar code, ties away from zero (gemmlowp's RoundingDivideByPOT). This
  holds for the one-thread interpreter bnnkit compares with (more threads
  split the channels into other blocks).
- any other axes or keep_dims false (what Keras' GlobalAveragePooling2D gives),
  and every int8 mean of TFLite's reference kernels (measured against
  BUILTIN_REF: its keep_dims [1, 2] case too):
  reference_ops::QuantizedMeanOrSum. The multiplier of ``si / so`` (doubles)
  is folded with ``1 / n``: ``k = min(floor(log2 n), 32, 31 + shift)``,
  ``multiplier = (multiplier << k) / n`` (integer division), ``shift -= k``;
  each output is ``clamp(MultiplyByQuantizedMultiplier(sum - zi * n) + zo)``,
  ties away from zero, equal scales or not.

Found from TFLite's sources and checked against the interpreter on
single-op models (200 random shapes and axes of up to 4-D, 1 to 70 channels,
equal, power-of-two and other scale ratios, any zero points, sums on the ties
of the rounding shift, the bias's half-way cases) and end to end on a
converted Keras model (tests/kernels/test_bnn_avgpool_s8.py). A mean over the
batch axis is refused: the interpreter mishandles some (a [1, 4] tensor over
[0] gives one value).
No float in the C: every real number is folded at generation time into the
integer parameters (pre, multiplier, shift, post) of bnn_mean_s8_params.
Inputs of up to 4 dimensions with a batch of 1, not averaged over.
"""

from __future__ import annotations

import math

import numpy as np

from ._quant import quantize_multiplier, requantize
from .base import prod, register
from .mean import Mean, normalize, read_axes

VECTOR_BLOCK = 16  # channels per vector block of TFLite's spatial int8 mean
MAX_COUNT = 1 << 23  # values per output: int32 sums with room to spare
ACC_LIMIT = 1 << 30  # |sum + pre| << left shift stays below this: no int32 wrap
POST_LIMIT = 1 << 24


@register
class MeanS8(Mean):
    kind = "mean_s8"
    dtype = "int8"
    tflite = ("MEAN",)
    files = ("bnn_mean_s8.c",)

    def lower(self, ctx, op):
        if len(op.inputs) < 2:
            return ctx.problem("MEAN without an axes input")
        if not ctx.need_int8(op.inputs[0], op.outputs[0]):
            return None
        read = read_axes(ctx, op)
        if read is None:
            return None
        full, listed, resolved = read
        rank = len(full)
        if resolved[0] == 0:  # the interpreter mishandles some of these (checked: [1, 4] over [0])
            return ctx.problem(f"mean over the batch axis (axes {listed})")
        keep = bool(op.options.get("keep_dims", False))
        # TFLite's test, on raw axes; its reference kernels (BUILTIN_REF, measured)
        # take QuantizedMeanOrSum for every int8 mean
        spatial = (keep and rank == 4 and sorted(listed) == [1, 2]
                   and ctx.reference != "tflite")
        count = prod([full[a] for a in resolved])
        if count > MAX_COUNT:
            return ctx.problem(f"mean of {count} values per output (at most {MAX_COUNT})")
        try:
            q = requant_params(ctx.quant[op.inputs[0]], ctx.quant[op.outputs[0]], count, spatial)
        except ValueError as exc:
            return ctx.problem(str(exc))
        return ctx.node(self.kind, [op.inputs[0]], {
            "in_shape": full, "axes": tuple(resolved), "keep_dims": keep, "spatial": spatial,
            **q})

    def emit(self, b, i, n):
        g = layout(n.params["in_shape"], n.params["axes"])
        p = n.params
        pname = f"mean_s8_p{i:02d}"
        b.struct("bnn_mean_s8_params", pname, outer=g["outer"], outer_stride=g["outer_stride"],
                 inner=g["inner"], inner_stride=g["inner_stride"], pre=p["pre"], mult=p["mult"],
                 shift=p["shift"], post=p["post"], ties_up=ties_up(p))
        return [f"bnn_mean_s8(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        p = n.params
        out = mean_s8_reference(inputs[0].reshape(p["in_shape"]), p["axes"], p, ties_up(p))
        return out.reshape(low.shapes[n.outputs[0]])


def ties_up(params) -> int:
    """How many leading outputs (channels) round ties toward +inf: the whole
    16-channel vector blocks of the spatial path, none otherwise.

    Example:
        >>> ties_up({"spatial": True, "in_shape": (1, 7, 7, 40)})
        32
    """
    if not params["spatial"]:
        return 0
    return int(params["in_shape"][3]) // VECTOR_BLOCK * VECTOR_BLOCK


def requant_params(in_q, out_q, count: int, spatial: bool) -> dict:
    """The integer parameters (pre, mult, shift, post) of TFLite's int8 mean of
    ``count`` values from input to output quantization ``(scale, zero_point)``;
    ``spatial``: its keep_dims [1, 2] path. ValueError names what the C could
    not compute exactly.

    Example:
        >>> requant_params((0.05, -3), (0.02, 5), 49, spatial=False)
        {'pre': 147, 'mult': 876523970, 'shift': -3, 'post': 5}
        >>> requant_params((0.05, -3), (0.02, 5), 49, spatial=True)
        {'pre': 0, 'mult': 1753047936, 'shift': -4, 'post': 13}
    """
    f32 = np.float32
    (si, zi), (so, zo) = in_q, out_q
    if spatial:
        t = float(f32(f32(f32(zi) * f32(si)) / f32(so)))
        post = int(zo) - int(math.copysign(math.floor(abs(t) + 0.5), t))
        mult, shift = quantize_multiplier(float(f32(f32(si) / f32(f32(count) * f32(so)))))
        pre, top = 0, 128 * count
    else:
        m0, s0 = quantize_multiplier(float(f32(si)) / float(f32(so)))
        k = min(count.bit_length() - 1, 32, 31 + s0)
        if m0 == 0 or k < 0:
            raise ValueError(f"input scale {si!r} / output scale {so!r} too small")
        mult, shift = int((m0 << k) // count), s0 - k
        pre, post, top = -int(zi) * count, int(zo), 255 * count
    if shift < -31 or top << max(shift, 0) >= ACC_LIMIT or abs(post) >= POST_LIMIT:
        raise ValueError(f"input scale {si!r} / output scale {so!r} out of range "
                         f"for a mean of {count} values")
    return {"pre": pre, "mult": int(mult), "shift": int(shift), "post": post}


def layout(shape, axes) -> dict:
    """The loops of bnn_mean_s8: kept (outer) and reduced (inner) dimensions of
    the normalized ``shape``, two each, with their strides in the input.

    Example:
        >>> layout((1, 5, 7, 13), (1, 2))
        {'outer': [1, 13], 'outer_stride': [0, 1], 'inner': [1, 35], 'inner_stride': [0, 13]}
    """
    norm = normalize(shape, tuple(axes))
    strides, s = [], 1
    for size, _ in reversed(norm):
        strides.append(s)
        s *= size
    strides.reverse()
    kept = [(d, st) for (d, r), st in zip(norm, strides) if not r]
    red = [(d, st) for (d, r), st in zip(norm, strides) if r]
    if len(kept) > 2 or len(red) > 2:
        raise ValueError(f"shape {tuple(shape)} over axes {tuple(axes)}: more than 4-D")
    kept = [(1, 0)] * (2 - len(kept)) + kept
    red = [(1, 0)] * (2 - len(red)) + red
    return {"outer": [d for d, _ in kept], "outer_stride": [st for _, st in kept],
            "inner": [d for d, _ in red], "inner_stride": [st for _, st in red]}


def mean_s8_reference(x, axes, q: dict, n_up: int = 0) -> np.ndarray:
    """numpy of bnn_mean_s8: x (with the batch) int8 -> its kept values, flat,
    int8; ``q`` holds pre, mult, shift and post (:func:`requant_params`).

    Example:
        >>> x = np.array([-2, -3, 4, 1, 6, 7], np.int8).reshape(1, 3, 2)
        >>> q = requant_params((0.1, 0), (0.1, 0), 3, spatial=False)
        >>> mean_s8_reference(x, (1,), q).tolist()  # (-2 + 4 + 6) / 3, (-3 + 1 + 7) / 3
        [3, 2]
    """
    x = np.asarray(x)
    kept = [d for d in range(x.ndim) if d not in axes]
    count = prod([x.shape[d] for d in axes])
    acc = np.transpose(x.astype(np.int64), kept + list(axes)).reshape(-1, count).sum(axis=1)
    acc = acc + q["pre"]
    out = requantize(acc, q["mult"], q["shift"], "away")
    out[:n_up] = requantize(acc[:n_up], q["mult"], q["shift"], "up")
    return np.clip(out + q["post"], -128, 127).astype(np.int8)
