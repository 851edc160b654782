"""MUL, ADD, SUB, DIV, MAXIMUM, MINIMUM, float32 (bnn_elementwise_f32.c).

Between an activation and a constant, or two activations, with NumPy/TFLite
broadcasting (up to 4 dimensions besides the batch). Three C paths:

- same shape: ``bnn_elementwise_f32``, one loop;
- one operand a scalar or a vector along the last axis (a batch norm's constant,
  or an activation of shape (1, 1, C) against (H, W, C)):
  ``bnn_elementwise_channel_f32``, ``c[i % channels]``;
- anything else that broadcasts: ``bnn_elementwise_bcast_f32`` with per-operand
  element strides (0 along broadcast axes) computed at generation time.

Arithmetic as LCE's interpreter (TFLite 2.16, its x86 kernels, measured bit for
bit, see tests/kernels/test_bnn_elementwise_f32.py): one float32 rounding per
op, then the fused activation as a clamp ``v = lo > v ? lo : v; v = hi < v ?
hi : v`` where NONE clamps to [-FLT_MAX, FLT_MAX] (an overflow gives FLT_MAX,
not inf), RELU to [0, FLT_MAX], RELU_N1_TO_1 to [-1, 1], RELU6 to [0, 6]; -0.0
and NaN pass the clamp unchanged. MAXIMUM is ``a > b ? a : b`` and MINIMUM
``a < b ? a : b`` (a the op's first input), with no clamp.

Not reproduced: LCE's process runs with subnormals flushed to zero (inputs and
results, measured); the C keeps IEEE subnormals, so results differ only where an
operand or a result is subnormal (|v| < 2^-126). NaN payload/sign bits follow
the machine (x86 gives LCE's).

Node forms: params ``op_act`` (the fused activation), ``swap`` (constant or
vector is the op's first operand); consts ``values`` (per-channel vector of a
MUL/ADD with activation NONE or RELU: the form lower.py fuses into quantize and
thresholds, with params ``relu``), ``channel`` (any other per-channel vector),
``operand`` (a constant broadcast generally).
"""

from __future__ import annotations

import numpy as np

from .base import OpKind, inputs_of_output_shape, prod, register

OPS = {"ADD": "add", "MUL": "mul", "SUB": "sub", "DIV": "div", "MAXIMUM": "maximum",
       "MINIMUM": "minimum"}
OP_CODE = {"add": "BNN_EW_ADD", "mul": "BNN_EW_MUL", "sub": "BNN_EW_SUB", "div": "BNN_EW_DIV",
           "maximum": "BNN_EW_MAX", "minimum": "BNN_EW_MIN"}
ACT_CODE = {"IDENTITY": "BNN_EW_ACT_IDENTITY", "NONE": "BNN_EW_ACT_NONE",
            "RELU": "BNN_EW_ACT_RELU", "RELU_N1_TO_1": "BNN_EW_ACT_RELU_N1_TO_1",
            "RELU6": "BNN_EW_ACT_RELU6"}
FLT_MAX = float(np.finfo(np.float32).max)
ACT_RANGE = {"IDENTITY": None, "NONE": (-FLT_MAX, FLT_MAX), "RELU": (0.0, FLT_MAX),
             "RELU_N1_TO_1": (-1.0, 1.0), "RELU6": (0.0, 6.0)}
MAX_DIMS = 4


def strip_batch(shape):
    shape = tuple(int(s) for s in shape)
    return shape[1:] if len(shape) > 1 and shape[0] == 1 else shape


def trim_ones(shape):
    """A constant's shape without leading 1s (they only add batch-like axes)."""
    shape = tuple(int(s) for s in shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def broadcast_shape(a, b):
    """NumPy's broadcast of two shapes, or None."""
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        return None


def is_channel_vector(shape, out_shape) -> bool:
    """``shape`` (leading 1s trimmed) reads as c[i % C] over ``out_shape``:
    a scalar, or a vector along the last axis of length out_shape[-1]."""
    if prod(shape) == 1:
        return True
    return len(shape) == 1 and len(out_shape) >= 1 and shape[0] == out_shape[-1]


def bcast_strides(shape, out_shape):
    """Element strides of a C-contiguous array of ``shape`` read at the indices
    of ``out_shape`` (right-aligned; 0 along broadcast axes), padded on the left
    to MAX_DIMS."""
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    strides, step = [], 1
    for s, o in zip(reversed(shape), reversed(out_shape)):
        strides.append(step if s == o else 0)
        step *= s
    strides = list(reversed(strides))
    return [0] * (MAX_DIMS - len(strides)) + strides


def apply_op(op: str, a, b, act: str):
    """numpy of exactly what the C computes for one element pair."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    with np.errstate(all="ignore"):
        if op == "add":
            v = a + b
        elif op == "mul":
            v = a * b
        elif op == "sub":
            v = a - b
        elif op == "div":
            v = a / b
        elif op == "maximum":
            v = np.where(a > b, a, b)
        else:
            v = np.where(a < b, a, b)
    v = np.asarray(v, np.float32)
    return clamp(v, ACT_RANGE[act])


def clamp(v, rng):
    if rng is None:
        return v
    lo, hi = np.float32(rng[0]), np.float32(rng[1])
    v = np.where(lo > v, lo, v)
    return np.where(hi < v, hi, v).astype(np.float32)


@register
class Elementwise(OpKind):
    kind = "mul"
    kinds = ("add", "sub", "div", "maximum", "minimum")
    tflite = tuple(OPS)
    files = ("bnn_elementwise_f32.c",)

    def lower(self, ctx, op):
        a, b = op.inputs[:2]
        if not ctx.need_float(a, b):
            return None
        kind = OPS[op.type]
        act = op.options.get("activation", "NONE") if kind not in ("maximum", "minimum") \
            else "IDENTITY"
        if act not in ACT_RANGE:
            return ctx.problem(f"fused activation {act}")
        ca, cb = ctx.const(a), ctx.const(b)
        if ca is not None and cb is not None:
            return ctx.problem("both operands constant")
        params = {"relu": act == "RELU", "op_act": act}
        if ca is None and cb is None:
            for t in (a, b):
                ctx.activation(t)
            sa = strip_batch(ctx.graph.tensor(a).shape)
            sb = strip_batch(ctx.graph.tensor(b).shape)
            out = broadcast_shape(sa, sb)
            if out is None:
                return ctx.problem(f"shapes {sa} and {sb} do not broadcast")
            if len(out) > MAX_DIMS:
                return ctx.problem(f"{len(out)}-D broadcast (at most {MAX_DIMS}-D)")
            return ctx.node(kind, [a, b], params)
        swap = ca is not None
        x, c = (b, ca) if swap else (a, cb)
        ctx.activation(x)
        xshape = strip_batch(ctx.graph.tensor(x).shape)
        c = np.asarray(c, np.float32)
        cshape = trim_ones(c.shape)
        out = broadcast_shape(xshape, cshape)
        if out is None:
            return ctx.problem(f"constant of shape {c.shape} does not broadcast with {xshape}")
        if len(out) > MAX_DIMS:
            return ctx.problem(f"{len(out)}-D broadcast (at most {MAX_DIMS}-D)")
        params["swap"] = swap
        if out == xshape and is_channel_vector(cshape, xshape):
            last = xshape[-1] if xshape else 1
            vals = np.broadcast_to(c.reshape(-1), (last,)).astype(np.float32).copy()
            fusable = kind in ("mul", "add") and act in ("NONE", "RELU")
            return ctx.node(kind, [x], params, {"values" if fusable else "channel": vals})
        return ctx.node(kind, [x], params, {"operand": c.reshape(cshape).copy()})

    def output_shape(self, n, low):
        shapes = [low.shapes[t] for t in n.inputs]
        if "operand" in n.consts:
            shapes.append(n.consts["operand"].shape)
        out = shapes[0]
        for s in shapes[1:]:
            out = broadcast_shape(out, s)
            if out is None:
                return None
        return out

    def in_place_inputs(self, n, low) -> tuple:
        return inputs_of_output_shape(n, low)

    def _operands(self, n, low):
        """[(shape, kind)] of the op's first and second operand: kind is an
        input index or the const name."""
        if len(n.inputs) == 2:
            ops = [(low.shapes[n.inputs[0]], 0), (low.shapes[n.inputs[1]], 1)]
        else:
            name = next(k for k in ("values", "channel", "operand") if k in n.consts)
            cshape = n.consts[name].shape if name == "operand" else (n.consts[name].size,)
            ops = [(low.shapes[n.inputs[0]], 0), (cshape, name)]
            if n.params.get("swap"):
                ops.reverse()
        return ops

    def emit(self, b, i, n):
        out = n.outputs[0]
        size = prod(b.low.shapes[out])
        out_shape = b.low.shapes[out]
        op = OP_CODE[n.kind]
        act = ACT_CODE[n.params.get("op_act", "RELU" if n.params.get("relu") else "NONE")]
        refs = []
        for _, which in self._operands(n, b.low):
            if isinstance(which, int):
                refs.append(b.buf(n.inputs[which]))
            else:
                vals = n.consts[which]
                refs.append(b.const(f"{n.kind}_c", "float", vals.reshape(-1),
                                    f"{n.name} constant {tuple(vals.shape)}"))
        (sa, _), (sb, _) = self._operands(n, b.low)
        sa, sb = tuple(sa), tuple(sb)
        if sa == sb == tuple(out_shape):
            return [f"bnn_elementwise_f32({op}, {act}, {refs[0]}, {refs[1]}, {size}, "
                    f"{b.buf(out)});"]
        for first, (vec, other) in ((0, (sb, sa)), (1, (sa, sb))):
            if tuple(other) == tuple(out_shape) and is_channel_vector(trim_ones(vec), out_shape):
                x, c = (refs[0], refs[1]) if first == 0 else (refs[1], refs[0])
                return [f"bnn_elementwise_channel_f32({op}, {act}, {x}, {size}, {c}, "
                        f"{prod(vec)}, {first}, {b.buf(out)});"]
        dims = [1] * (MAX_DIMS - len(out_shape)) + list(out_shape)
        pname = f"ew_p{i:02d}"
        b.struct("bnn_elementwise_bcast_params", pname, op=op, act=act, dims=dims,
                 a_strides=bcast_strides(sa, out_shape), b_strides=bcast_strides(sb, out_shape))
        return [f"bnn_elementwise_bcast_f32(&{pname}, {refs[0]}, {refs[1]}, {b.buf(out)});"]

    def reference(self, n, inputs, low):
        vals = []
        for shape, which in self._operands(n, low):
            if isinstance(which, int):
                vals.append(np.asarray(inputs[which], np.float32))
            else:
                vals.append(np.asarray(n.consts[which], np.float32).reshape(shape))
        act = n.params.get("op_act", "RELU" if n.params.get("relu") else "NONE")
        out_shape = tuple(low.shapes[n.outputs[0]])
        a, c = (np.broadcast_to(v, out_shape) for v in vals)
        return apply_op(n.kind, a, c, act).reshape(out_shape)
