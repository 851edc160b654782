"""PRELU, float32, constant alpha that broadcasts against the input
(bnn_prelu_f32.c): ``out = x >= 0 ? x : x * alpha`` as TFLite's own kernel
(measured against LCE's interpreter: -0.0 stays -0.0 whatever alpha's sign).

Two C paths: alpha a scalar or a vector along the last axis (Keras
``PReLU(shared_axes=[1, 2])``, alpha of shape (1, 1, C)):
``bnn_prelu_channel_f32``; any other broadcast (alpha (H, W, C) or (H, 1, C)):
``bnn_prelu_bcast_f32`` with alpha's element strides (0 along broadcast axes).
Not reproduced: LCE's process flushes subnormal inputs and products to zero;
the C keeps IEEE subnormals (differences only where |x| or |x * alpha| <
2^-126).
"""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register
from .elementwise import (MAX_DIMS, bcast_strides, broadcast_shape, is_channel_vector,
                          strip_batch, trim_ones)


@register
class PRelu(OpKind):
    kind = "prelu"
    tflite = ("PRELU",)
    files = ("bnn_prelu_f32.c",)

    def lower(self, ctx, op):
        x, a = op.inputs[:2]
        if not ctx.need_float(x, a):
            return None
        alpha = ctx.const(a)
        if alpha is None:
            return ctx.problem("alpha is not a constant")
        if ctx.const(x) is not None:
            return ctx.problem("constant input")
        ctx.activation(x)
        xshape = strip_batch(ctx.graph.tensor(x).shape)
        alpha = np.asarray(alpha, np.float32)
        ashape = trim_ones(alpha.shape)
        if broadcast_shape(xshape, ashape) != xshape:
            return ctx.problem(f"alpha of shape {alpha.shape} does not broadcast to {xshape}")
        if len(xshape) > MAX_DIMS:
            return ctx.problem(f"{len(xshape)}-D input (at most {MAX_DIMS}-D)")
        return ctx.node(self.kind, [x], {}, {"alpha": alpha.reshape(ashape).copy()})

    def output_shape(self, n, low):
        return broadcast_shape(low.shapes[n.inputs[0]], n.consts["alpha"].shape)

    def emit(self, b, i, n):
        shape = tuple(b.low.shapes[n.outputs[0]])
        alpha = n.consts["alpha"]
        x, out = b.buf(n.inputs[0]), b.buf(n.outputs[0])
        if is_channel_vector(alpha.shape, shape):
            name = b.const("prelu_alpha", "float", alpha.reshape(-1), f"{n.name} alpha")
            return [f"bnn_prelu_channel_f32({x}, {prod(shape)}, {name}, {alpha.size}, {out});"]
        name = b.const("prelu_alpha", "float", alpha.reshape(-1),
                       f"{n.name} alpha {tuple(alpha.shape)}")
        dims = [1] * (MAX_DIMS - len(shape)) + list(shape)
        strides = bcast_strides(alpha.shape, shape)
        pname = f"prelu_p{i:02d}"
        b.struct("bnn_prelu_params", pname, dims=dims, alpha_strides=strides)
        return [f"bnn_prelu_bcast_f32(&{pname}, {x}, {name}, {out});"]

    def reference(self, n, inputs, low):
        x = np.asarray(inputs[0], np.float32)
        a = np.broadcast_to(n.consts["alpha"], x.shape)
        with np.errstate(all="ignore"):
            return np.where(x >= 0, x, (x * a).astype(np.float32)).astype(np.float32)
