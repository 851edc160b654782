"""RESHAPE: no kernel; the output shares its input's memory (``alias_reshapes``)."""

from __future__ import annotations

from .base import OpKind, register


@register
class Reshape(OpKind):
    kind = "reshape"
    tflite = ("RESHAPE",)

    def lower(self, ctx, op):
        return ctx.node(self.kind, [op.inputs[0]])

    def emit(self, b, i, n):
        return []  # shares its input's memory

    def reference(self, n, inputs, low):
        return inputs[0].reshape(low.shapes[n.outputs[0]])
