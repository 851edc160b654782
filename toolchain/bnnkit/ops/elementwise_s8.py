"""ADD and MUL, int8 (bnn_elementwise_s8.c), as LCE 0.16's interpreter computes
them: TFLite 2.16's optimized int8 kernels, which on x86 run their NEON code
through NEON_2_SSE on whole blocks (16 values for ADD, 8 for MUL) and a scalar
loop on the rest. Either operand may be an activation or a constant int8 tensor.

ADD (same shapes; TFLite splits a broadcast ADD into segments, each with its own
blocks and tail, which bnnkit does not reproduce: refused) rescales both inputs
to a common scale, with ``ma, sa`` etc. from ``QuantizeMultiplierSmallerThanOneExp``
of ``scale_a / (2 max(scale_a, scale_b))``, ``scale_b / (2 max(...))`` and
``2 max(...) / (2^20 scale_out)``:

    block: a' = srdhm((a - za) << (20 + sa), ma)          (one rounding)
    tail:  a' = rdbpot(srdhm((a - za) << 20, ma), -sa)    (two roundings)
    s = rdbpot(srdhm(a' + b', mo), -so)
    block: out = clamp(sat8(wrap16(wrap16(s) + zo)))       tail: clamp(s + zo)

MUL (broadcasting allowed) multiplies the offset inputs and rescales once, the
same in blocks and tail as long as the product cannot leave int16 before the
zero point is added (checked; refused otherwise):

    out = clamp(rdbpot(srdhm((a - za) * (b - zb), m), -shift) + zo)

with ``m, shift = QuantizeMultiplier(float32(float32(scale_a * scale_b) /
scale_out))``: TFLite forms that multiplier in float32 before widening it.

``srdhm`` is gemmlowp's SaturatingRoundingDoublingHighMul (= NEON's vqrdmulh)
and ``rdbpot`` its RoundingDivideByPOT (ties away from zero):
:func:`._quant.requantize` with ``ties="away"``. ``clamp`` is the fused
activation's int8 range.
"""

from __future__ import annotations

from math import prod

import numpy as np

from ._quant import activation_range, quantize_multiplier, requantize
from .base import Cost, OpKind, inputs_of_output_shape, register
from .elementwise import MAX_DIMS, bcast_strides, broadcast_shape, strip_batch, trim_ones

LEFT_SHIFT = 20  # TFLite's int8 ADD
ADD_BLOCK = 16  # values per NEON block of TFLite's int8 ADD


def add_multipliers(scale_a: float, scale_b: float, scale_out: float):
    """TFLite's int8 ADD rescaling: ((ma, sa), (mb, sb), (mo, so)) Q31
    multipliers and (non-positive) shifts; None if one of them is not below one
    (TFLite's QuantizeMultiplierSmallerThanOneExp would abort).

    Example:
        >>> add_multipliers(0.5, 0.25, 0.5)
        ((1073741824, 0), (1073741824, -1), (1073741824, -18))
    """
    twice_max = 2.0 * float(np.float32(max(np.float32(scale_a), np.float32(scale_b))))
    out_denominator = float(np.float32((1 << LEFT_SHIFT) * np.float32(scale_out)))
    result = tuple(quantize_multiplier(r) for r in (
        float(np.float32(scale_a)) / twice_max, float(np.float32(scale_b)) / twice_max,
        twice_max / out_denominator))
    return None if any(shift > 0 for _, shift in result) else result


def mul_fits_int16(mult: int, shift: int) -> bool:
    """Whether every int8 MUL result stays inside int16 (with room for a zero
    point) before TFLite's NEON blocks narrow it, so that blocks and scalar tail
    agree: |(a - za)(b - zb)| <= 256^2, scaled by mult * 2^(shift - 31).

    Example:
        >>> mul_fits_int16(*mul_multiplier(0.5, 0.25, 0.5)), mul_fits_int16(1 << 30, 0)
        (True, False)
    """
    return shift <= 0 and (256 * 256 * mult) >> (31 - shift) < (1 << 15) - 256


def mul_multiplier(scale_a: float, scale_b: float, scale_out: float):
    """TFLite's int8 MUL multiplier and shift, formed in float32 as TFLite does.

    Example:
        >>> mul_multiplier(0.5, 0.25, 0.5)
        (1073741824, -1)
    """
    real = np.float32(np.float32(scale_a) * np.float32(scale_b)) / np.float32(scale_out)
    return quantize_multiplier(float(np.float32(real)))


def _wrap16(v):
    return (np.asarray(v, np.int64) + (1 << 15)) % (1 << 16) - (1 << 15)


def _shift_left(v, bits: int):
    """NEON's vshl by a signed count: left, or arithmetic right when negative."""
    return v << bits if bits >= 0 else v >> -bits


def add_s8(a, b, p: dict) -> np.ndarray:
    """numpy of bnn_add_s8 on same-shape int8 operands ``a``, ``b``, flattened:
    whole blocks of :data:`ADD_BLOCK` values as TFLite's NEON code, the rest as
    its scalar loop.

    Example:
        >>> p = {"za": 0, "zb": 0, "zo": 0, "act": (-128, 127),
        ...      "mults": add_multipliers(0.5, 0.5, 0.5)}
        >>> add_s8(np.int8([1, -3, 100]), np.int8([2, -4, 100]), p).tolist()
        [3, -7, 127]
    """
    (ma, sa), (mb, sb), (mo, so) = p["mults"]
    a = np.asarray(a, np.int64).reshape(-1) - p["za"]
    b = np.asarray(b, np.int64).reshape(-1) - p["zb"]
    blocked = add_blocked(a.size, p)
    # tail: two roundings per input
    tail = (requantize(a[blocked:] << LEFT_SHIFT, ma, sa, "away")
            + requantize(b[blocked:] << LEFT_SHIFT, mb, sb, "away"))
    tail = requantize(tail, mo, so, "away") + p["zo"]
    # blocks: the input shift folded into the left shift, one rounding
    block = (requantize(_shift_left(a[:blocked], LEFT_SHIFT + sa), ma, 0, "away")
             + requantize(_shift_left(b[:blocked], LEFT_SHIFT + sb), mb, 0, "away"))
    block = np.clip(_wrap16(_wrap16(requantize(block, mo, so, "away")) + p["zo"]), -128, 127)
    return np.clip(np.concatenate([block, tail]), *p["act"]).astype(np.int8)


def add_blocked(n: int, params: dict) -> int:
    """How many leading values of an ADD go the NEON block way: whole blocks of
    16 in LCE's interpreter, none in TFLite's reference kernel (its scalar
    loop, two roundings per input, for every value)."""
    return 0 if params.get("tflite") else n // ADD_BLOCK * ADD_BLOCK


def mul_s8(a, b, p: dict) -> np.ndarray:
    """numpy of bnn_mul_s8 on broadcast int8 operands ``a``, ``b``.

    Example:
        >>> p = {"za": 0, "zb": 0, "zo": 0, "act": (-128, 127),
        ...      "mult": mul_multiplier(0.5, 0.5, 0.5)}
        >>> mul_s8(np.int8([3, -3, 100]), np.int8([3, 3, 100]), p).tolist()
        [5, -4, 127]
    """
    prod_ = (np.asarray(a, np.int64) - p["za"]) * (np.asarray(b, np.int64) - p["zb"])
    out = requantize(prod_, *p["mult"], "away") + p["zo"]
    return np.clip(out, *p["act"]).astype(np.int8)


def elementwise_params(b, pname: str, kind: str, p: dict, shapes, out_shape) -> None:
    """The ``bnn_elementwise_s8_params`` struct ``pname`` of an int8 ADD or MUL
    (``kind``) with node params ``p`` and operand shapes ``shapes``; also the
    ADD a convolution computes with its residual fused (conv2d_s8)."""
    if kind == "add_s8":
        (ma, sa), (mb, sb), (mo, so) = p["mults"]
    else:
        (ma, sa), (mb, sb), (mo, so) = (0, 0), (0, 0), p["mult"]
    b.struct("bnn_elementwise_s8_params", pname,
             dims=[1] * (MAX_DIMS - len(out_shape)) + list(out_shape),
             a_strides=bcast_strides(shapes[0], out_shape),
             b_strides=bcast_strides(shapes[1], out_shape), a_offset=-p["za"],
             b_offset=-p["zb"], out_offset=p["zo"], a_mult=ma, a_shift=sa, b_mult=mb,
             b_shift=sb, out_mult=mo, out_shift=so, act_min=p["act"][0], act_max=p["act"][1],
             add_blocked=add_blocked(prod(out_shape), p) if kind == "add_s8" else 0)


@register
class ElementwiseS8(OpKind):
    kind = "add_s8"
    kinds = ("mul_s8",)
    dtype = "int8"
    tflite = ("ADD", "MUL")
    files = ("bnn_elementwise_s8.c",)

    def lower(self, ctx, op):
        if len(op.inputs) != 2 or len(op.outputs) != 1:
            return ctx.problem(f"{len(op.inputs)} inputs and {len(op.outputs)} outputs "
                               "(2 and 1 needed)")
        a, b = op.inputs
        out = op.outputs[0]
        if not ctx.need_int8(a, b, out):
            return None
        consts, quants, shapes = {}, [], []
        for name, t in (("a", a), ("b", b)):
            c = ctx.const(t)
            if c is None:
                ctx.activation(t)
                shapes.append(strip_batch(ctx.graph.tensor(t).shape))
            else:
                c = np.asarray(c)
                if c.dtype != np.int8:
                    return ctx.problem(f"constant operand of type {c.dtype} (int8 needed)")
                consts[name] = c.reshape(trim_ones(c.shape)).copy()
                shapes.append(consts[name].shape)
            quants.append(ctx.per_tensor_quant(ctx.graph.tensor(t)))
        if len(consts) == 2:
            return ctx.problem("both operands constant")
        shape = broadcast_shape(*shapes)
        if op.type == "ADD" and shapes[0] != shapes[1]:
            return ctx.problem(f"int8 ADD of shapes {shapes[0]} and {shapes[1]}: broadcasting "
                               "is not supported (TFLite splits it into SIMD segments of "
                               "its own)")
        if shape is None:
            return ctx.problem(f"shapes {shapes[0]} and {shapes[1]} do not broadcast")
        if len(shape) > MAX_DIMS:
            return ctx.problem(f"{len(shape)}-D broadcast (at most {MAX_DIMS}-D)")
        (sa, za), (sb, zb), (so, zo) = quants[0], quants[1], ctx.quant[out]
        act = activation_range(op.options.get("activation", "NONE"), so, zo)
        if act is None:
            return ctx.problem(f"fused activation {op.options.get('activation')}")
        params = {"za": za, "zb": zb, "zo": zo, "act": act,
                  "operands": [("const" if n in consts else "input") for n in ("a", "b")],
                  "tflite": ctx.reference == "tflite"}
        if op.type == "ADD":
            mults = add_multipliers(sa, sb, so)
            if mults is None:
                return ctx.problem(f"output scale {so!r} too small for the inputs' "
                                   f"{sa!r}, {sb!r} (TFLite needs multipliers below one)")
            params["mults"] = mults
        else:
            params["mult"] = mul_multiplier(sa, sb, so)
            if not mul_fits_int16(*params["mult"]):
                return ctx.problem(f"int8 MUL whose result can leave int16 (scales {sa!r} x "
                                   f"{sb!r} -> {so!r}), where TFLite's SIMD blocks and "
                                   "scalar loop disagree")
        inputs = [t for n, t in (("a", a), ("b", b)) if n not in consts]
        return ctx.node("add_s8" if op.type == "ADD" else "mul_s8", inputs, params, consts)

    def _operand_shapes(self, n, low):
        shapes, k = [], 0
        for name, source in zip(("a", "b"), n.params["operands"]):
            if source == "const":
                shapes.append(tuple(n.consts[name].shape))
            else:
                shapes.append(tuple(low.shapes[n.inputs[k]]))
                k += 1
        return shapes

    def output_shape(self, n, low):
        return broadcast_shape(*self._operand_shapes(n, low))

    def in_place_inputs(self, n, low) -> tuple:
        return inputs_of_output_shape(n, low)

    def emit(self, b, i, n):
        out = n.outputs[0]
        out_shape = tuple(b.low.shapes[out])
        shapes = self._operand_shapes(n, b.low)
        refs, k = [], 0
        for name, source in zip(("a", "b"), n.params["operands"]):
            if source == "const":
                refs.append(b.const(f"{n.kind}_c", "int8_t", n.consts[name].reshape(-1),
                                    f"{n.name} constant {tuple(n.consts[name].shape)}"))
            else:
                refs.append(b.buf(n.inputs[k]))
                k += 1
        pname = f"ew_s8_p{i:02d}"
        elementwise_params(b, pname, n.kind, n.params, shapes, out_shape)
        fn = "bnn_add_s8" if n.kind == "add_s8" else "bnn_mul_s8"
        return [f"{fn}(&{pname}, {refs[0]}, {refs[1]}, {b.buf(out)});"]

    def cost(self, n, low):
        return Cost(const_bytes=sum(int(v.size) for v in n.consts.values()))

    def reference(self, n, inputs, low):
        out_shape = tuple(low.shapes[n.outputs[0]])
        vals, k = [], 0
        for name, shape, source in zip(("a", "b"), self._operand_shapes(n, low),
                                       n.params["operands"]):
            if source == "const":
                v = n.consts[name]
            else:
                v = np.asarray(inputs[k]).reshape(shape)
                k += 1
            vals.append(np.broadcast_to(v, out_shape))
        fn = add_s8 if n.kind == "add_s8" else mul_s8
        return fn(vals[0], vals[1], n.params).reshape(out_shape)
