"""MUL and ADD, float32 (bnn_elementwise_f32.c): by a per-channel constant (a
batch norm) or of two activations of the same shape, optional fused ReLU. One
float32 rounding per op, as TFLite."""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register


def strip_batch(shape):
    shape = tuple(int(s) for s in shape)
    return shape[1:] if len(shape) > 1 and shape[0] == 1 else shape


@register
class Elementwise(OpKind):
    kind = "mul"
    kinds = ("add",)
    tflite = ("MUL", "ADD")
    files = ("bnn_elementwise_f32.c",)

    def lower(self, ctx, op):
        a, b = op.inputs[:2]
        if not ctx.need_float(a, b):
            return None
        kind = op.type.lower()
        relu = op.options.get("activation") == "RELU"
        ca, cb = ctx.const(a), ctx.const(b)
        if ca is not None and cb is not None:
            return ctx.problem("both operands constant")
        x, c = (b, ca) if ca is not None else (a, cb)
        if c is None:
            shape_a = strip_batch(ctx.graph.tensor(a).shape)
            shape_b = strip_batch(ctx.graph.tensor(b).shape)
            if shape_a != shape_b:
                return ctx.problem(f"broadcasting two activations {shape_a} x {shape_b}")
            return ctx.node(kind, [a, b], {"relu": relu})
        xshape = strip_batch(ctx.graph.tensor(x).shape)
        c = np.asarray(c, np.float32).reshape(-1)
        last = xshape[-1] if xshape else 1
        if c.size not in (1, last):
            return ctx.problem(f"constant of {c.size} values does not broadcast on "
                               f"the last axis of {xshape}")
        ctx.activation(x)
        return ctx.node(kind, [x], {"relu": relu},
                        {"values": np.broadcast_to(c, (last,)).astype(np.float32).copy()})

    def emit(self, b, i, n):
        kind = n.kind
        size = prod(b.low.shapes[n.outputs[0]])
        relu = int(n.params.get("relu", False))
        if "values" in n.consts:
            vals = n.consts["values"]
            cn = b.const(f"{kind}_c", "float", vals, f"{n.name} per-channel constant")
            return [f"bnn_{kind}_const_f32({b.buf(n.inputs[0])}, {size}, {cn}, {vals.size}, "
                    f"{relu}, {b.buf(n.outputs[0])});"]
        x, y = n.inputs
        return [f"bnn_binary_op_f32({b.buf(x)}, {b.buf(y)}, {size}, {int(kind == 'mul')}, "
                f"{relu}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = inputs[0].astype(np.float32)
        y = n.consts["values"] if "values" in n.consts else inputs[1].astype(np.float32)
        out = (x * y if n.kind == "mul" else x + y).astype(np.float32)
        return np.maximum(out, np.float32(0)) if n.params.get("relu") else out
