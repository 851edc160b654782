"""RESHAPE, SQUEEZE and EXPAND_DIMS: no kernel; the output shares its input's
memory (``alias_reshapes``): the same elements in the same order."""

from __future__ import annotations

from .base import OpKind, prod, register


@register
class Reshape(OpKind):
    kind = "reshape"
    tflite = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")

    def lower(self, ctx, op):
        return ctx.node(self.kind, [op.inputs[0]])

    def output_shape(self, n, low):
        src, dst = low.shapes[n.inputs[0]], low.shapes[n.outputs[0]]
        same_size = prod(src) == prod(dst) and low.kinds[n.inputs[0]] == low.kinds[n.outputs[0]]
        return tuple(dst) if same_size else tuple(src)

    def emit(self, b, i, n):
        return []  # shares its input's memory

    def reference(self, n, inputs, low):
        return inputs[0].reshape(low.shapes[n.outputs[0]])
