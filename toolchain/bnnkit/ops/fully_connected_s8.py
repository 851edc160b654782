"""FULLY_CONNECTED, int8: TFLite's quantized fully connected layer, byte for
byte. It runs on the int8 convolution kernel (bnn_conv2d_s8.c) as a 1x1
convolution of one position over n_in channels: acc[j] = bias[j] +
sum((x - zp_in) * w[j]) in int32, then requantization (one scale, or one per
output; with one, TFLite rounds in_scale * w_scale to float32 before dividing
by out_scale in double), the output zero point and the fused activation's clamp."""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from .base import Cost, OpKind, prod, register
from .conv2d_s8 import (fold_input_offset, int32_bias, interleaved_s8, quantized_weights,
                        fast_requant, requant_consts, requant_params, requant_ties,
                        scratch_bytes_s8)
from ._quant import requantize


@register
class FullyConnectedS8(OpKind):
    kind = "fc_s8"
    dtype = "int8"
    tflite = ("FULLY_CONNECTED",)
    files = ("bnn_conv2d_s8.c",)

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        if not ctx.need_int8(ins[0], *op.outputs):
            return None
        wt = ctx.graph.tensor(ins[1])
        if wt.data is None or wt.data.ndim != 2 or o["weights_format"] != 0:
            return ctx.problem("the weights must be a constant [out, in] int8 tensor")
        n_out, n_in = wt.data.shape
        if prod(ctx.shapes[ins[0]]) != n_in:
            return ctx.problem(f"input of {prod(ctx.shapes[ins[0]])} values for {n_in} weights "
                               "per output (one row at a time is supported)")
        got = quantized_weights(ctx, ins[1], n_out, "weights")
        bias = int32_bias(ctx, ins, n_out)
        if got is None or bias is None:
            return None
        w, w_scale = got
        rq = requant_params(ctx, op, w_scale, n_out, float_product=w_scale.size == 1)
        if rq is None:
            return None
        mult, shift, zp_out, lo, hi = rq
        zp_in = ctx.quant[ins[0]][1]
        return ctx.node(self.kind, [ins[0]], {
            "keep_num_dims": bool(o.get("keep_num_dims")), "zp_in": zp_in, "zp_out": zp_out,
            "act": (lo, hi), "ties": requant_ties(ctx)},
            {"weights": w.astype(np.int8), "bias": fold_input_offset(bias, w, zp_in, ctx.where),
             "mult": mult, "shift": shift})

    def output_shape(self, n, low):
        lead = low.shapes[n.inputs[0]][:-1] if n.params.get("keep_num_dims") else ()
        return tuple(lead) + (n.consts["weights"].shape[0],)

    def scratch_bytes(self, b, n) -> int:
        n_out, n_in = n.consts["weights"].shape
        return scratch_bytes_s8(n_in, n_out)

    def emit(self, b, i, n):
        w = n.consts["weights"]
        n_out, n_in = w.shape
        if prod(b.low.shapes[n.inputs[0]]) != n_in:
            raise BnnkitError(f"{n.name}: batched fully connected input is not supported")
        lo, hi = n.params["act"]
        pname = f"fc_s8_p{i:02d}"
        # one output position of a 1x1 convolution over n_in channels: the patch path
        b.struct("bnn_conv2d_s8_params", pname, in_h=1, in_w=1, in_c=n_in, out_c=n_out, k_h=1,
                 k_w=1, stride_h=1, stride_w=1, pad_top=0, pad_left=0, conv_h=1, conv_w=1,
                 pool_h=1, pool_w=1, patch_words=-(-n_in // 4), pad_value=n.params["zp_in"],
                 out_zero_point=n.params["zp_out"], act_min=lo, act_max=hi,
                 ties_up=int(n.params["ties"] == "up"),
                 fast_requant=int(fast_requant(n.consts["bias"], n_in, n.consts["shift"])), wide=0,
                 ring_rows=0, ring_len=0)
        wn = b.const("fc_w", "uint32_t", interleaved_s8(w),
                     f"{n.name} int8 weights [{n_out}][{n_in}], four outputs interleaved "
                     "word by word")
        bn, mn, sn = requant_consts(b, "fc", n)
        return [f"bnn_conv2d_s8(&{pname}, {b.buf(n.inputs[0])}, {wn}, {bn}, {mn}, {sn}, "
                f"{b.scratch(i, 'uint32_t')}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        n_out, n_in = n.consts["weights"].shape
        return Cost(macs=n_out * n_in, const_bytes=n_out * -(-n_in // 4) * 4 + 12 * n_out)

    def reference(self, n, inputs, low):
        x = inputs[0].reshape(-1).astype(np.int64)
        acc = n.consts["weights"].astype(np.int64) @ x + n.consts["bias"]
        lo, hi = n.params["act"]
        out = requantize(acc, n.consts["mult"], n.consts["shift"], n.params["ties"]) + n.params["zp_out"]
        return np.clip(out, lo, hi).astype(np.int8).reshape(low.shapes[n.outputs[0]])
