"""TRANSPOSE by a constant permutation, float32, rank up to 4
(bnn_transpose_f32.c). Copies only, so bit-exact by construction.

The permutation counts the flatbuffer's dimensions, batch included; the node
keeps the full rank (``params["rank"]``) and the kernel works on 4-D shapes
(leading 1s that stay in place).

Example:
    >>> from types import SimpleNamespace
    >>> from bnnkit.ops import Node
    >>> n = Node("transpose", [0], [1], {"rank": 4, "perm": [0, 3, 1, 2]})
    >>> Transpose().output_shape(n, SimpleNamespace(shapes={0: (5, 6, 3)}))
    (3, 5, 6)
"""

from __future__ import annotations

import numpy as np

from ._datamove import (check_output, const_ints, float_activation_shape, full_shape, pad4,
                        strip_batch)
from .base import OpKind, register


@register
class Transpose(OpKind):
    kind = "transpose"
    tflite = ("TRANSPOSE",)
    files = ("bnn_transpose_f32.c",)

    def lower(self, ctx, op):
        ins = op.inputs
        if len(ins) != 2 or len(op.outputs) != 1:
            return ctx.problem(f"{len(ins)} inputs and {len(op.outputs)} outputs")
        x = ins[0]
        shape = float_activation_shape(ctx, op, x)
        if shape is None:
            return None
        rank = len(shape)
        perm = const_ints(ctx, ins[1], "the permutation")
        if perm is None:
            return None
        perm = [int(p) for p in perm.reshape(-1)]
        if sorted(perm) != list(range(rank)):
            return ctx.problem(f"{perm} is not a permutation of {rank} dimensions")
        if not check_output(ctx, op.outputs[0], [shape[p] for p in perm]):
            return None
        ctx.activation(x)
        return ctx.node(self.kind, [x], {"rank": rank, "perm": perm})

    def output_shape(self, n, low):
        shape = full_shape(low.shapes[n.inputs[0]], n.params["rank"])
        return strip_batch([shape[p] for p in n.params["perm"]])

    def fields(self, n, low):
        """(in_shape, perm) of bnn_transpose_params (4-D)."""
        rank = n.params["rank"]
        shape = pad4(full_shape(low.shapes[n.inputs[0]], rank))
        lead = 4 - rank
        return list(shape), list(range(lead)) + [p + lead for p in n.params["perm"]]

    def emit(self, b, i, n):
        shape, perm = self.fields(n, b.low)
        pname = f"transpose_p{i:02d}"
        b.struct("bnn_transpose_params", pname, in_shape=shape, perm=perm)
        return [f"bnn_transpose_f32(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = np.asarray(inputs[0], np.float32).reshape(
            full_shape(low.shapes[n.inputs[0]], n.params["rank"]))
        return np.ascontiguousarray(np.transpose(x, n.params["perm"])).reshape(
            self.output_shape(n, low))
