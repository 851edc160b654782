"""PAD and PADV2 with constant paddings and a constant value, float32
(bnn_pad_f32.c). Copies and fills only, so bit-exact by construction; the pad
value is passed by its IEEE-754 bits (PAD: 0.0f; PADV2: input 2, 0.0f if
omitted), so -0.0, infinities and NaN are written as given.

The paddings tensor is int32 [rank, 2] in the flatbuffer's full rank (batch
included). Padding the batch dimension is refused (the output would hold more
than one batch); paddings must be >= 0 and the rank at most 4.

Example:
    >>> from types import SimpleNamespace
    >>> from bnnkit.ops import Node
    >>> n = Node("pad", [0], [1], {"rank": 4, "before": [0, 1, 0, 0], "after": [0, 2, 1, 0],
    ...                            "value": 0.0})
    >>> Pad().output_shape(n, SimpleNamespace(shapes={0: (6, 6, 16)}))
    (9, 7, 16)
"""

from __future__ import annotations

import numpy as np

from ._datamove import (check_output, const_ints, float_activation_shape, full_shape, pad4,
                        strip_batch)
from ..kernel_structs import initializer
from .base import OpKind, register


@register
class Pad(OpKind):
    kind = "pad"
    tflite = ("PAD", "PADV2")
    files = ("bnn_pad_f32.c",)

    def lower(self, ctx, op):
        ins = op.inputs
        if len(ins) < 2 or len(op.outputs) != 1:
            return ctx.problem(f"{len(ins)} inputs and {len(op.outputs)} outputs")
        x = ins[0]
        shape = float_activation_shape(ctx, op, x)
        if shape is None:
            return None
        rank = len(shape)
        pads = const_ints(ctx, ins[1], "the paddings")
        if pads is None:
            return None
        if pads.shape != (rank, 2):
            return ctx.problem(f"paddings of shape {pads.shape} for a rank-{rank} tensor")
        if (pads < 0).any():
            return ctx.problem(f"negative paddings {pads.tolist()}")
        value = 0.0
        if op.type == "PADV2" and len(ins) > 2 and ins[2] >= 0:
            v = ctx.const(ins[2])
            if v is None or ctx.graph.tensor(ins[2]).dtype != "float32" or np.size(v) != 1:
                return ctx.problem("the pad value must be a constant float32 scalar")
            value = np.float32(np.asarray(v).reshape(-1)[0])
        before, after = [int(p) for p in pads[:, 0]], [int(p) for p in pads[:, 1]]
        expected = [b + s + a for b, s, a in zip(before, shape, after)]
        if not check_output(ctx, op.outputs[0], expected):
            return None
        if len(strip_batch(shape)) < rank and (before[0] or after[0]):
            return ctx.problem(f"padding the batch dimension ({before[0]}, {after[0]})")
        ctx.activation(x)
        return ctx.node(self.kind, [x], {"rank": rank, "before": before, "after": after,
                                         "value": np.float32(value)})

    def output_shape(self, n, low):
        shape = full_shape(low.shapes[n.inputs[0]], n.params["rank"])
        return strip_batch([b + s + a for b, s, a in
                            zip(n.params["before"], shape, n.params["after"])])

    def fields(self, n, low):
        """(in_shape, before, after, value_bits) of bnn_pad_params (4-D)."""
        shape = pad4(full_shape(low.shapes[n.inputs[0]], n.params["rank"]))
        lead = [0] * (4 - n.params["rank"])
        bits = int(np.array([n.params["value"]], np.float32).view(np.int32)[0])
        return list(shape), lead + n.params["before"], lead + n.params["after"], bits

    def emit(self, b, i, n):
        shape, before, after, bits = self.fields(n, b.low)
        pname = f"pad_p{i:02d}"
        init = initializer("bnn_pad_params", in_shape=shape, before=before, after=after,
                           value_bits=bits if bits != -2**31 else "(-2147483647 - 1)")
        b.param(f"static const bnn_pad_params {pname} = {init};  "
                f"/* value {float(n.params['value'])!r} */")
        return [f"bnn_pad_f32(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = np.asarray(inputs[0], np.float32).reshape(
            full_shape(low.shapes[n.inputs[0]], n.params["rank"]))
        out = np.full([b + s + a for b, s, a in zip(n.params["before"], x.shape,
                                                    n.params["after"])],
                      n.params["value"], np.float32)
        out[tuple(slice(b, b + s) for b, s in zip(n.params["before"], x.shape))] = x
        return out.reshape(self.output_shape(n, low))
