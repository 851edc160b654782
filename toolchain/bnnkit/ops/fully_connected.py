"""FULLY_CONNECTED, float32, bit-exact with LCE 0.16's interpreter on x86-64
(bnn_fc_f32.c).

TFLite 2.16 (built with TFLITE_WITH_RUY, NEON_2_SSE) computes a single-input
fully connected layer in one of two ways, found by reading
cpu_backend_gemm_custom_gemv.h / ruy kernel_x86.h and confirmed by experiment
(Dense layers n_in 1..2000, n_out 1..130, with/without bias, relu: 100 % of
outputs identical; see tests/kernels/test_bnn_fc_f32.py):

- n_out >= 4 and n_in >= 4, CustomGemv: four partial sums per output (lane l
  takes inputs i = l mod 4), each step a rounded multiply then a rounded add;
  the last n_in % 4 inputs go to the upper lanes of one more step, the lower
  lanes adding 0 * w; then (l0 + l1) + (l2 + l3), then + bias if any.
- otherwise ruy's single-column kernel: from the bias (0 without), one exact
  fused multiply-add per input in order.
- then the clamp min(v, FLT_MAX), max(v, lo): lo = 0 (RELU) or -FLT_MAX.

Both paths are chosen by TFLite at run time on AVX2+FMA hosts; the result is
CPU dependent (a non-FMA or AVX-512 host may round differently).
"""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from ._numeric import fma_f32
from .base import Cost, OpKind, prod, register


@register
class FullyConnected(OpKind):
    kind = "fc"
    tflite = ("FULLY_CONNECTED",)
    files = ("bnn_fc_f32.c",)

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        w = ctx.const(ins[1])
        if w is None or o["weights_format"] != 0:
            return ctx.problem("non-constant or shuffled weights")
        if o["activation"] not in ("NONE", "RELU"):
            return ctx.problem(f"fused activation {o['activation']}")
        if not ctx.need_float(ins[0], ins[1]):
            return None
        if w.ndim != 2:
            return ctx.problem(f"weights of shape {tuple(w.shape)} (an [out, in] matrix needed)")
        n_out, n_in = w.shape
        n_x = prod(ctx.shapes[ins[0]]) if ins[0] in ctx.shapes else n_in  # (a constant: refused)
        if n_x != n_in:  # the kernel reads n_in values: exactly the input, one row
            return ctx.problem(f"input of {n_x} values for {n_in} weights per output (one "
                               "row at a time is supported)")
        bias = ctx.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        if len(ins) > 2 and ins[2] >= 0 and (bias is None or bias.size != n_out or
                                             ctx.graph.tensor(ins[2]).dtype != "float32"):
            return ctx.problem(f"the bias must be a constant float32 tensor of {n_out} values")
        return ctx.node(self.kind, [ins[0]], {"relu": o["activation"] == "RELU",
                                              "keep_num_dims": bool(o.get("keep_num_dims")),
                                              "has_bias": bias is not None}, {
            "weights": w.astype(np.float32),
            "bias": (bias if bias is not None else np.zeros(w.shape[0])).astype(np.float32)})

    def output_shape(self, n, low):
        lead = low.shapes[n.inputs[0]][:-1] if n.params.get("keep_num_dims") else ()
        return tuple(lead) + (n.consts["weights"].shape[0],)

    def emit(self, b, i, n):
        w = n.consts["weights"]
        n_out, n_in = w.shape
        if prod(b.low.shapes[n.inputs[0]]) != n_in:
            raise BnnkitError(f"{n.name}: batched fully connected input is not supported")
        wn = b.const("fc_w", "float", np.ascontiguousarray(w),
                     f"{n.name} weights [{n_out}][{n_in}], output-major")
        bn = "0"
        if n.params.get("has_bias", True):
            bn = b.const("fc_b", "float", n.consts["bias"], f"{n.name} bias")
        return [f"bnn_fc_f32({b.buf(n.inputs[0])}, {n_in}, {wn}, {bn}, {n_out}, "
                f"{int(n.params['relu'])}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost(macs=int(n.consts["weights"].size),
                    const_bytes=4 * (n.consts["weights"].size + n.consts["bias"].size))

    def reference(self, n, inputs, low):
        x = inputs[0].reshape(-1).astype(np.float32)
        w = n.consts["weights"].astype(np.float32)
        bias = n.consts["bias"].astype(np.float32) if n.params.get("has_bias", True) else None
        return fc_reference(x, w, bias, n.params["relu"])


def fc_reference(x, w, bias, relu):
    """numpy float32 of bnn_fc_f32: x [n_in], w [n_out][n_in], bias [n_out] or None."""
    n_out, n_in = w.shape
    f32 = np.float32
    with np.errstate(all="ignore"):
        if n_out < 4 or n_in < 4:  # ruy: from the bias, fused multiply-adds in order
            acc = bias.copy() if bias is not None else np.zeros(n_out, f32)
            for k in range(n_in):
                acc = fma_f32(x[k], w[:, k], acc)
        else:  # CustomGemv: 4 lanes, multiply then add
            lanes = [np.zeros(n_out, f32) for _ in range(4)]
            n4 = n_in // 4 * 4
            for k in range(n4):
                lanes[k % 4] = (lanes[k % 4] + (w[:, k] * x[k]).astype(f32)).astype(f32)
            if n4 < n_in:
                back = n4 + 4 - n_in
                for lane in range(4):
                    k = n_in - 4 + lane
                    v = f32(0) if lane < back else x[k]
                    lanes[lane] = (lanes[lane] + (w[:, k] * v).astype(f32)).astype(f32)
            acc = ((lanes[0] + lanes[1]).astype(f32) + (lanes[2] + lanes[3]).astype(f32)).astype(f32)
            if bias is not None:
                acc = (acc + bias).astype(f32)
        acc = np.where(acc < np.float32(np.finfo(f32).max), acc, np.finfo(f32).max).astype(f32)
        lo = f32(0) if relu else -np.finfo(f32).max
        return np.where(acc > lo, acc, lo).astype(f32)
