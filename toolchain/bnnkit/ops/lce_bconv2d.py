"""LceBconv2d: binary convolution by XOR + popcount over bit-packed NHWC input and
OHWI weights packed along I, with float or bit-packed output, one or zero
padding, dilation and LCE's fused clamps (bnn_bconv2d.c, bnn_popcount.c)."""

from __future__ import annotations

import numpy as np

from ._bits import pack_bits, unpack_bits
from ._geometry import same_pad
from .base import Cost, OpKind, prod, register
from .lce_bmaxpool import lce_padding

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# LCE's fused_activation_function enum -> clamp of the +-1 dot product
LCE_CLAMPS = {0: (INT32_MIN, INT32_MAX), 1: (0, INT32_MAX), 2: (-1, 1), 3: (0, 6)}


@register
class LceBconv2d(OpKind):
    kind = "bconv2d"
    tflite = ("LceBconv2d",)
    files = ("bnn_bconv2d.c", "bnn_popcount.c")

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        w = ctx.const(ins[1])
        if w is None or ctx.graph.tensor(ins[1]).dtype != "int32":
            return ctx.problem("filter must be a constant bit-packed int32 tensor")
        if ctx.graph.tensor(ins[0]).dtype != "int32":
            return ctx.problem("float input (LCE bit-packs it first in converted models)")
        act = int(o.get("fused_activation_function", 0))
        if act not in LCE_CLAMPS:
            return ctx.problem(f"fused activation {act}")
        out_bits = ctx.graph.tensor(op.outputs[0]).dtype == "int32"
        consts = {"weights": w.view(np.uint32)}
        if out_bits:
            consts["threshold"] = ctx.const(ins[4]).astype(np.int32)
        else:
            consts["multiplier"] = ctx.const(ins[2]).astype(np.float32)
            consts["bias"] = ctx.const(ins[3]).astype(np.float32)
        return ctx.node(self.kind, [ins[0]], {
            "channels_in": int(o["channels_in"]), "out_channels": int(w.shape[0]),
            "kernel": (int(w.shape[1]), int(w.shape[2])),
            "stride": (int(o["stride_height"]), int(o["stride_width"])),
            "dilation": (int(o["dilation_height_factor"]), int(o["dilation_width_factor"])),
            "padding": "SAME" if lce_padding(o["padding"]) == "SAME" else "VALID",
            "one_padding": int(o.get("pad_values", 0)) == 1, "clamp": LCE_CLAMPS[act],
            "output": "bits" if out_bits else "float"}, consts)

    def pads(self, n, low):
        h, w, _ = low.shapes[n.inputs[0]]
        oh, ow = low.shapes[n.outputs[0]][:2]
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        if n.params["padding"] == "SAME":
            return (same_pad(h, (kh - 1) * dh + 1, sh, oh), same_pad(w, (kw - 1) * dw + 1, sw, ow))
        return 0, 0

    def emit(self, b, i, n):
        h, w, _ = b.low.shapes[n.inputs[0]]
        oh, ow = b.low.shapes[n.outputs[0]][:2]
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        pt, pl = self.pads(n, b.low)
        lo, hi = n.params["clamp"]
        oc, ic = n.params["out_channels"], n.params["channels_in"]
        pname = f"bconv_p{i:02d}"
        b.param(f"static const bnn_bconv2d_params {pname} = {{{h}, {w}, {ic}, {oc}, {kh}, {kw}, "
                f"{sh}, {sw}, {dh}, {dw}, {pt}, {pl}, {oh}, {ow}, {int(n.params['one_padding'])}, "
                f"{lo if lo > INT32_MIN else 'INT32_MIN'}, {hi if hi < INT32_MAX else 'INT32_MAX'}}};")
        wn = b.const("bconv_w", "uint32_t", n.consts["weights"],
                     f"{n.name}: OHWI, I packed 1 bit per weight ({ic} channels)")
        src, dst = b.buf(n.inputs[0]), b.buf(n.outputs[0])
        if n.params["output"] == "bits":
            tn = b.const("bconv_thr", "int32_t", n.consts["threshold"],
                         f"{n.name}: output bit = popcount > threshold")
            return [f"bnn_bconv2d_bits(&{pname}, {src}, {wn}, {tn}, {dst});"]
        mn = b.const("bconv_mul", "float", n.consts["multiplier"], f"{n.name}: multiplier")
        bn = b.const("bconv_bias", "float", n.consts["bias"], f"{n.name}: bias")
        return [f"bnn_bconv2d_f32(&{pname}, {src}, {wn}, {mn}, {bn}, {dst});"]

    def cost(self, n, low):
        kh, kw = n.params["kernel"]
        positions = prod(low.shapes[n.outputs[0]][:2])
        return Cost(bops=positions * n.params["out_channels"] * kh * kw * n.params["channels_in"],
                    const_bytes=sum(int(v.size) * 4 for v in n.consts.values()))

    def reference(self, n, inputs, low):
        ic, oc = n.params["channels_in"], n.params["out_channels"]
        h, w, _ = low.shapes[n.inputs[0]]
        oh, ow = low.shapes[n.outputs[0]][:2]
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        pt, pl = self.pads(n, low)
        x = np.where(unpack_bits(inputs[0], ic), -1, 1).reshape(h, w, ic)
        wts = np.where(unpack_bits(n.consts["weights"], ic), -1, 1)  # (oc, kh, kw, ic)
        pad_value = 1 if n.params["one_padding"] else 0
        xp = np.full((h + (kh - 1) * dh + sh * oh + 1, w + (kw - 1) * dw + sw * ow + 1, ic),
                     pad_value, np.int64)
        xp[pt:pt + h, pl:pl + w] = x
        inside = np.zeros(xp.shape[:2], np.int64)
        inside[pt:pt + h, pl:pl + w] = 1
        dot = np.zeros((oh, ow, oc), np.int64)
        taps = np.zeros((oh, ow, 1), np.int64)
        for ky in range(kh):
            for kx in range(kw):
                ys, xs = ky * dh, kx * dw
                win = xp[ys:ys + sh * oh:sh, xs:xs + sw * ow:sw]
                dot += win @ wts[:, ky, kx, :].T
                taps += inside[ys:ys + sh * oh:sh, xs:xs + sw * ow:sw, None]
        lo, hi = n.params["clamp"]
        if n.params["output"] == "bits":
            # LCE's accumulator: popcount over all taps (outside taps read +1 = bits 0)
            k = kh * kw * ic if n.params["one_padding"] else taps * ic
            popcount = (k - dot) // 2
            return pack_bits(popcount > n.consts["threshold"])
        dot = np.clip(dot, lo, hi)
        v = (dot.astype(np.float32) * n.consts["multiplier"]).astype(np.float32)
        return (v + n.consts["bias"]).astype(np.float32)
