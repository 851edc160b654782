"""``SELECT(GREATER_EQUAL(x, t), a, b)`` with a scalar threshold t and constant
branches: ``x >= t ? a : b`` per element, in one pass (bnn_select_f32.c).

This is how a sign written with ``tf.where`` (LCE's end-to-end tests use
``tf.where(x >= 0, ones_like(x), -ones_like(x))`` as a binary quantizer) reaches
the flatbuffer: LCE keeps it as builtin ops, the ones folded into constants. The
comparison and the selection are exact, so the result is LCE's bit for bit.
"""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register


def _branch(ctx, idx, size):
    """A constant branch as a scalar (uniform) or a full array; None otherwise."""
    v = ctx.const(idx)
    if v is None or ctx.graph.tensor(idx).dtype != "float32":
        return None
    flat = np.asarray(v, np.float32).reshape(-1)
    if flat.size and np.all(flat == flat[0]) and np.all(np.signbit(flat) == np.signbit(flat[0])):
        return flat[:1].copy()
    return flat.copy() if flat.size == size else None


def _comparison(ctx, op):
    """The GREATER_EQUAL(x, scalar constant) producing SELECT's condition, or None."""
    producer = next((p for p in ctx.graph.ops if op.inputs[0] in p.outputs), None)
    if producer is None or producer.type != "GREATER_EQUAL" or len(producer.inputs) != 2:
        return None
    x, t = producer.inputs
    thr = ctx.const(t)
    if (thr is None or ctx.graph.tensor(t).dtype != "float32" or np.asarray(thr).size != 1
            or ctx.graph.tensor(x).dtype != "float32" or ctx.const(x) is not None):
        return None
    return producer, x, float(np.asarray(thr, np.float32).reshape(-1)[0])


def _absorbed(ctx, ge):
    """True if every reader of GREATER_EQUAL's result is a SELECT this op lowers."""
    readers = [o for o in ctx.graph.ops if ge.outputs[0] in o.inputs]
    return bool(readers) and all(r.type == "SELECT" and r.inputs[0] == ge.outputs[0]
                                 and _comparison(ctx, r) is not None for r in readers)


@register
class Select(OpKind):
    kind = "select"
    tflite = ("SELECT", "SELECT_V2")
    files = ("bnn_select_f32.c",)

    def lower(self, ctx, op):
        if len(op.inputs) != 3 or len(op.outputs) != 1:
            return ctx.problem("needs a condition and two branches")
        found = _comparison(ctx, op)
        if found is None:
            return ctx.problem("only a condition GREATER_EQUAL(x, scalar constant) is supported")
        _, x, thr = found
        size = prod(ctx.shapes[op.outputs[0]])
        if tuple(ctx.graph.tensor(x).shape) != tuple(ctx.graph.tensor(op.outputs[0]).shape):
            return ctx.problem("condition and output shapes differ")
        a, b = _branch(ctx, op.inputs[1], size), _branch(ctx, op.inputs[2], size)
        if a is None or b is None:
            return ctx.problem("branches must be float32 constants")
        ctx.activation(x)
        return ctx.node(self.kind, [x], {"threshold": thr},
                        {"if_true": a, "if_false": b})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def emit(self, b, i, n):
        args = []
        for key in ("if_true", "if_false"):
            v = n.consts[key]
            args.append(b.const(f"sel_{key[3:]}", "float", v,
                                f"{n.name}: value where x {'>=' if key == 'if_true' else '<'} t"))
            args.append(str(v.size))
        thr = float(np.float32(n.params["threshold"])).hex() + "f"
        return [f"bnn_select_ge_f32({b.buf(n.inputs[0])}, {b.size(n.inputs[0])}, {thr}, "
                f"{', '.join(args)}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = inputs[0].astype(np.float32).reshape(-1)
        a = np.broadcast_to(n.consts["if_true"], x.shape)
        b = np.broadcast_to(n.consts["if_false"], x.shape)
        return np.where(x >= np.float32(n.params["threshold"]), a, b).reshape(inputs[0].shape)


@register
class GreaterEqual(OpKind):
    """GREATER_EQUAL lowers only as the condition of a :class:`Select`."""

    kind = "greater_equal"
    tflite = ("GREATER_EQUAL",)

    def lower(self, ctx, op):
        if not _absorbed(ctx, op):
            return ctx.problem("a comparison is supported only as the condition of a SELECT "
                               "with constant branches")
        return None  # computed by the SELECT that reads it
