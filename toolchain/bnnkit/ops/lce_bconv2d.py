"""LceBconv2d: binary convolution by XOR + popcount over bit-packed NHWC input and
OHWI weights packed along I, with float or bit-packed output, one or zero
padding, dilation and LCE's fused clamps (bnn_bconv2d.c, bnn_popcount.c); int8
output as LCE's int8 output transform (float arithmetic, then round half away
from zero and saturate; see :func:`round_saturate_s8`).

The C kernel takes each output channel's weights with the taps back to back
(:func:`interleaved_weights`) and LCE's zero-padding correction as a table
(:func:`padding_corrections`)."""

from __future__ import annotations

import numpy as np

from ._bits import pack_bits, unpack_bits, words
from ._geometry import out_size, same_pad
from .base import Cost, OpKind, prod, register
from .elementwise import apply_op
from .lce_bmaxpool import lce_padding

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# LCE's fused_activation_function enum -> clamp of the +-1 dot product
LCE_CLAMPS = {0: (INT32_MIN, INT32_MAX), 1: (0, INT32_MAX), 2: (-1, 1), 3: (0, 6)}


def output_transform(multiplier, bias, k: int, scale: float = 1.0, zero_point: int = 0):
    """LCE's output transform constants (its bconv2d OneTimeSetup): the
    multiplier -m / s and the bias (b + K*m) / s + z, computed in double and
    stored as float; s, z the int8 output's scale and zero point (1, 0 for float).

    Example:
        >>> [v.tolist() for v in output_transform(np.float32([0.5]), np.float32([1.0]), 9)]
        [[-0.5], [5.5]]
        >>> [v.tolist() for v in output_transform(np.float32([0.5]), np.float32([1.0]), 9, 0.5, -3)]
        [[-1.0], [8.0]]
    """
    m = np.asarray(multiplier, np.float32).astype(np.float64)
    b = np.asarray(bias, np.float32).astype(np.float64)
    s = np.float64(np.float32(scale))
    return ((-m / s).astype(np.float32),
            ((b + np.float64(k) * m) / s + np.float64(zero_point)).astype(np.float32))


def round_saturate_s8(v) -> np.ndarray:
    """LCE's int8 output on x86: round half away from zero, a value out of
    int32's range or NaN becomes INT32_MIN (the truncating conversion), then
    saturation to int8.

    Example:
        >>> round_saturate_s8(np.float32([2.5, -2.5, 0.49999997, 300.0, np.nan])).tolist()
        [3, -3, 0, 127, -128]
    """
    v = np.asarray(v, np.float32).astype(np.float64)
    ok = (v >= -2.0 ** 31) & (v < 2.0 ** 31)
    safe = np.where(ok, v, 0.0)
    r = np.where(safe >= 0, np.floor(safe + 0.5), -np.floor(-safe + 0.5))  # exact in double
    return np.clip(np.where(ok, r, INT32_MIN), -128, 127).astype(np.int8)


def accum_clamp(nominal, k: int):
    """A clamp of the +-1 dot product (LCE's fused activation) as LCE applies it:
    on x = 2 * popcount, where dot = K - x. ``accum_clamp((0, INT32_MAX), 9) == (0, 9)``."""
    lo, hi = max(nominal[0], -k), min(nominal[1], k)
    return (-hi + k, -lo + k)


def chunk_words(n) -> int:
    """The words the kernel counts at a time (``prepare`` picks them for the
    target: 3 on 32-bit cores, or the whole patch when it is one or two words;
    4 on arm64); 3 for a node not prepared."""
    return n.params.get("chunk_words", 3)


def patch_words(n) -> int:
    """Words of one output position's gathered taps in bnn_bconv2d.c: the
    taps' bits back to back, rounded up to whole chunks of words."""
    kh, kw = n.params["kernel"]
    chunk = chunk_words(n)
    return chunk * -(-words(kh * kw * n.params["channels_in"]) // chunk)


def interleaved_weights(weights, ic: int, chunk: int = 3) -> np.ndarray:
    """LCE's OHWI filter (I packed in words, padded per tap) as bnn_bconv2d.c
    reads it: each output channel's taps with their ``ic`` bits back to back,
    zero-padded to whole chunks of ``chunk`` words, and the channels
    interleaved a chunk at a time (word k of chunk t of channel c at
    [(t * O + c) * chunk + k]).

    Example:
        >>> w = pack_bits(np.ones((2, 1, 2, 16), bool))  # 2 channels, 2 taps of 16
        >>> interleaved_weights(w, 16).tolist()  # one word each, padded to three
        [4294967295, 0, 0, 4294967295, 0, 0]
        >>> interleaved_weights(w, 16, chunk=4).tolist()  # arm64: to four
        [4294967295, 0, 0, 0, 4294967295, 0, 0, 0]
    """
    bits = unpack_bits(weights, ic)
    rows = pack_bits(bits.reshape(bits.shape[0], -1))  # (O, words)
    padded = np.zeros((rows.shape[0], chunk * -(-rows.shape[1] // chunk)), np.uint32)
    padded[:, :rows.shape[1]] = rows
    return padded.reshape(rows.shape[0], -1, chunk).transpose(1, 0, 2).reshape(-1)


@register
class LceBconv2d(OpKind):
    kind = "bconv2d"
    tflite = ("LceBconv2d",)
    files = ("bnn_bconv2d.c", "bnn_popcount.c")

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        if len(ins) < 5 or len(op.outputs) != 1:
            return ctx.problem(f"{len(ins)} inputs and {len(op.outputs)} outputs (5 and 1 needed)")
        w = ctx.const(ins[1])
        if w is None or ctx.graph.tensor(ins[1]).dtype != "int32" or w.ndim != 4:
            return ctx.problem("filter must be a constant bit-packed 4-D int32 tensor")
        missing = [k for k in ("channels_in", "stride_height", "stride_width", "padding",
                               "dilation_height_factor", "dilation_width_factor") if k not in o]
        if missing:
            return ctx.problem(f"options lack {', '.join(missing)}")
        if int(o["channels_in"]) < 1 or w.shape[3] != (int(o["channels_in"]) + 31) // 32:
            return ctx.problem(f"channels_in {o['channels_in']} does not match the filter's "
                               f"{w.shape[3]} words")
        if min(int(o[k]) for k in missing or ("stride_height", "stride_width",
                                               "dilation_height_factor",
                                               "dilation_width_factor")) < 1:
            return ctx.problem("strides and dilations must be positive")
        if ctx.graph.tensor(ins[0]).dtype != "int32":
            return ctx.problem("float input (LCE bit-packs it first in converted models)")
        act = int(o.get("fused_activation_function", 0))
        if act not in LCE_CLAMPS:
            return ctx.problem(f"fused activation {act}")
        out_dtype = ctx.graph.tensor(op.outputs[0]).dtype
        if out_dtype not in ("int32", "float32", "int8"):
            return ctx.problem(f"{out_dtype} output (float32, int8 or bit-packed int32)")
        out_bits = out_dtype == "int32"
        one_padding = int(o.get("pad_values", 0)) == 1
        # SAME pads nothing around a 1x1 kernel: zero or one padding cannot matter
        same = lce_padding(o["padding"]) == "SAME" and (w.shape[1], w.shape[2]) != (1, 1)
        consts = {"weights": w.view(np.uint32)}
        k = int(w.shape[1]) * int(w.shape[2]) * int(o["channels_in"])
        if out_bits:
            if same and not one_padding:
                return ctx.problem("bit-packed output with zero padding (LCE's optimized kernel "
                                   "refuses it too)")
            thr = ctx.const(ins[4])
            if thr is None or thr.size != w.shape[0]:
                return ctx.problem("bit-packed output needs one constant threshold per channel")
            # accum lies in [0, K]: thresholds past [-1, K] decide alike, and the
            # kernel's compare by subtraction relies on this range
            consts["threshold"] = np.clip(thr.astype(np.int64).reshape(-1), -1, k).astype(np.int32)
        else:
            if same and not one_padding and (act != 0 or out_dtype == "int8"):
                return ctx.problem("zero padding with a fused activation or int8 output "
                                   "(LCE's optimized kernel refuses it too)")
            m, bias = ctx.const(ins[2]), ctx.const(ins[3])
            if m is None or bias is None or m.size != w.shape[0] or bias.size != w.shape[0]:
                return ctx.problem(f"{out_dtype} output needs a constant multiplier and bias "
                                   "per channel")
            scale, zp = 1.0, 0
            if out_dtype == "int8":
                if not ctx.need_int8(op.outputs[0]):
                    return None
                scale, zp = ctx.quant[op.outputs[0]]
            consts["multiplier"], consts["bias"] = output_transform(
                m.reshape(-1), bias.reshape(-1), k, scale, zp)
        return ctx.node(self.kind, [ins[0]], {
            "channels_in": int(o["channels_in"]), "out_channels": int(w.shape[0]),
            "kernel": (int(w.shape[1]), int(w.shape[2])),
            "stride": (int(o["stride_height"]), int(o["stride_width"])),
            "dilation": (int(o["dilation_height_factor"]), int(o["dilation_width_factor"])),
            "padding": "SAME" if lce_padding(o["padding"]) == "SAME" else "VALID",
            "one_padding": one_padding, "clamp": accum_clamp(LCE_CLAMPS[act], k),
            "output": {"int32": "bits", "float32": "float", "int8": "int8"}[out_dtype],
            "pool": None,
            "conv_out": tuple(int(d) for d in ctx.graph.tensor(op.outputs[0]).shape[1:3])},
            consts)

    def prepare(self, n, low, target):
        # the weights' interleave follows the target's registers (any core reads any)
        chunk = target.bconv_chunk_words if target else 3
        if chunk == 3:  # 32-bit cores: a patch of one or two words is one chunk, unpadded
            kh, kw = n.params["kernel"]
            chunk = min(3, words(kh * kw * n.params["channels_in"]))
        n.params["chunk_words"] = chunk

    def output_shape(self, n, low):
        h, w, c = low.shapes[n.inputs[0]]
        kh, kw = n.params["kernel"]
        (sh, sw), (dh, dw) = n.params["stride"], n.params["dilation"]
        pad = n.params["padding"]
        oh, ow = out_size(h, kh, sh, pad, dh), out_size(w, kw, sw, pad, dw)
        if c != words(n.params["channels_in"]) or (oh, ow) != tuple(n.params["conv_out"]):
            return (h, w, words(n.params["channels_in"]))  # a mismatch that lowering reports
        oc = n.params["out_channels"]
        return (oh, ow, words(oc) if n.params["output"] == "bits" else oc)

    def pads(self, n, low):
        h, w, _ = low.shapes[n.inputs[0]]
        oh, ow = n.params["conv_out"]
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        if n.params["padding"] == "SAME":
            return (same_pad(h, (kh - 1) * dh + 1, sh, oh), same_pad(w, (kw - 1) * dw + 1, sw, ow))
        return 0, 0

    def in_place_inputs(self, n, low) -> tuple:
        # a fused residual is read at the index written, before it is written
        return (1,) if len(n.inputs) > 1 else ()

    def scratch_bytes(self, b, n) -> int:
        """One output position's gathered taps, and two words per output
        channel (its byte counts and its count)."""
        return 4 * (patch_words(n) + 2 * n.params["out_channels"])

    def padding_corrections(self, n, low):
        """LCE's zero-padding correction as bnn_bconv2d_f32 takes it: (corr_at,
        corr), corr_at[cy*conv_w + cx] = 0 where LCE corrects nothing, else s
        with corr[s-1] (one int per output channel) the sum over the removed
        taps of in_c - 2 * popcount(w_tap); None without zero padding."""
        if n.params["one_padding"] or n.params["padding"] != "SAME" or n.params["output"] != "float":
            return None
        h, w, _ = low.shapes[n.inputs[0]]
        oh, ow = n.params["conv_out"]
        kh, kw = n.params["kernel"]
        (sh, sw), (dh, dw) = n.params["stride"], n.params["dilation"]
        wsum = np.where(unpack_bits(n.consts["weights"], n.params["channels_in"]), -1, 1).sum(
            axis=3)  # (oc, kh, kw): what each tap adds when read as +1
        corr_at, sets = np.zeros(oh * ow, np.uint16), {}
        for cy in range(oh):
            for cx in range(ow):
                mask = lce_correction_taps(h, w, oh, ow, kh, kw, sh, sw, dh, dw, cy, cx)
                if mask is not None and mask.any():
                    key = mask.tobytes()
                    if key not in sets:
                        sets[key] = (len(sets) + 1, (wsum * mask).sum(axis=(1, 2)))
                    corr_at[cy * ow + cx] = sets[key][0]
        if not sets:
            return None
        if len(sets) > 0xFFFF:
            raise ValueError(f"{len(sets)} distinct padding corrections (at most 65,535)")
        corr = np.stack([v for _, v in sorted(sets.values(), key=lambda e: e[0])])
        return corr_at, corr.astype(np.int32)

    def emit(self, b, i, n):
        h, w, _ = b.low.shapes[n.inputs[0]]
        oh, ow = b.low.shapes[n.outputs[0]][:2]  # pooled, when a pool is fused
        ph, pw = n.params["pool"] or (1, 1)
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        pt, pl = self.pads(n, b.low)
        lo, hi = n.params["clamp"]
        oc, ic = n.params["out_channels"], n.params["channels_in"]
        pname = f"bconv_p{i:02d}"
        b.struct("bnn_bconv2d_params", pname, in_h=h, in_w=w, in_c=ic, out_c=oc, k_h=kh, k_w=kw,
                 stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw, pad_top=pt, pad_left=pl,
                 out_h=oh, out_w=ow, one_padding=n.params["one_padding"],
                 clamp_min=lo if lo > INT32_MIN else "INT32_MIN",
                 clamp_max=hi if hi < INT32_MAX else "INT32_MAX", pool_h=ph, pool_w=pw,
                 conv_h=n.params["conv_out"][0], conv_w=n.params["conv_out"][1],
                 patch_words=patch_words(n), chunk_words=chunk_words(n),
                 residual_act=f"BNN_RESIDUAL_{n.params.get('residual_act', 'NONE')}")
        wn = b.const("bconv_w", "uint32_t",
                     interleaved_weights(n.consts["weights"], ic, chunk_words(n)),
                     f"{n.name}: {kh}x{kw} taps of {ic} bits back to back per output "
                     f"channel, the channels interleaved {chunk_words(n)} words at a time")
        src, dst, scratch = b.buf(n.inputs[0]), b.buf(n.outputs[0]), b.scratch(i, "uint32_t")
        if n.params["output"] == "bits":
            tn = b.const("bconv_thr", "int32_t", n.consts["threshold"],
                         f"{n.name}: output bit = popcount > threshold")
            return [f"bnn_bconv2d_bits(&{pname}, {src}, {wn}, {tn}, {scratch}, {dst});"]
        mn = b.const("bconv_mul", "float", n.consts["multiplier"], f"{n.name}: multiplier")
        bn = b.const("bconv_bias", "float", n.consts["bias"], f"{n.name}: bias")
        if n.params["output"] == "int8":
            return [f"bnn_bconv2d_s8(&{pname}, {src}, {wn}, {mn}, {bn}, {scratch}, {dst});"]
        corr_at, corr = "NULL", "NULL"
        table = self.padding_corrections(n, b.low)
        if table is not None:
            corr_at = b.const("bconv_corr_at", "uint16_t", table[0],
                              f"{n.name}: 1 + row of bconv_corr per conv position, 0: none")
            corr = b.const("bconv_corr", "int32_t", table[1],
                           f"{n.name}: LCE's zero-padding correction per tap set and channel")
        if len(n.inputs) > 1:  # a fused residual ADD
            return [f"bnn_bconv2d_add_f32(&{pname}, {src}, {wn}, {mn}, {bn}, {corr_at}, {corr}, "
                    f"{b.buf(n.inputs[1])}, {scratch}, {dst});"]
        return [f"bnn_bconv2d_f32(&{pname}, {src}, {wn}, {mn}, {bn}, {corr_at}, {corr}, {scratch}, "
                f"{dst});"]

    def cost(self, n, low):
        kh, kw = n.params["kernel"]
        ph, pw = n.params["pool"] or (1, 1)
        positions = prod(low.shapes[n.outputs[0]][:2]) * ph * pw
        return Cost(bops=positions * n.params["out_channels"] * kh * kw * n.params["channels_in"],
                    const_bytes=sum(int(v.size) * 4 for v in n.consts.values()))

    def reference(self, n, inputs, low):
        ic, oc = n.params["channels_in"], n.params["out_channels"]
        h, w, _ = low.shapes[n.inputs[0]]
        oh, ow = n.params["conv_out"]
        kh, kw = n.params["kernel"]
        sh, sw = n.params["stride"]
        dh, dw = n.params["dilation"]
        pt, pl = self.pads(n, low)
        x = np.where(unpack_bits(inputs[0], ic), -1, 1).reshape(h, w, ic)
        wts = np.where(unpack_bits(n.consts["weights"], ic), -1, 1)  # (oc, kh, kw, ic)
        dots = {}
        for pad_value in (0, 1):  # outside taps as 0 (zero padding) or +1 (LCE's im2col)
            xp = np.full((h + (kh - 1) * dh + sh * oh + 1, w + (kw - 1) * dw + sw * ow + 1, ic),
                         pad_value, np.int64)
            xp[pt:pt + h, pl:pl + w] = x
            dot = np.zeros((oh, ow, oc), np.int64)
            for ky in range(kh):
                for kx in range(kw):
                    win = xp[ky * dh:ky * dh + sh * oh:sh, kx * dw:kx * dw + sw * ow:sw]
                    dot += win @ wts[:, ky, kx, :].T
            dots[pad_value] = dot
        lo, hi = n.params["clamp"]
        accum = (kh * kw * ic - dots[1]) // 2
        ph, pw = n.params["pool"] or (1, 1)
        if n.params["output"] == "bits":
            plus = ~(accum > n.consts["threshold"])  # +1 where the bit is 0
            plus_anywhere = _pool(plus, ph, pw, np.max)  # max of +-1 = +1 if any is +1
            return pack_bits(~plus_anywhere)
        xs = np.clip(2 * accum, lo, hi)
        mul, bias = n.consts["multiplier"], n.consts["bias"]
        v = ((xs.astype(np.float32) * mul).astype(np.float32) + bias).astype(np.float32)
        if n.params["output"] == "int8":
            return _pool(round_saturate_s8(v), ph, pw, np.max)
        if not n.params["one_padding"] and n.params["padding"] == "SAME":
            wsum = wts.sum(axis=3)  # (oc, kh, kw): what each tap adds when read as +1
            for cy in range(oh):
                for cx in range(ow):
                    mask = lce_correction_taps(h, w, oh, ow, kh, kw, sh, sw, dh, dw, cy, cx)
                    if mask is not None:
                        corr = (wsum * mask).sum(axis=(1, 2)).astype(np.float32)
                        v[cy, cx] = (v[cy, cx] + (mul * corr).astype(np.float32)).astype(np.float32)
        if len(inputs) > 1:  # a fused residual ADD (no pool then)
            return apply_op("add", inputs[1], v, n.params["residual_act"])
        return _pool(v.astype(np.float32), ph, pw, np.max)


def lce_correction_taps(h, w, oh, ow, kh, kw, sh, sw, dh, dw, cy, cx):
    """The taps LCE's zero-padding correction removes at conv output (cy, cx), as a
    (kh, kw) 0/1 mask, or None where LCE corrects nothing (its four cases: a window
    overflowing the top and the bottom, or the left and the right, at once falls in
    none of them)."""
    eff_h, eff_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1

    def c_div2(v):  # C's integer division by 2 (towards zero)
        return -((-v) // 2) if v < 0 else v // 2

    top, left = c_div2((oh - 1) * sh + eff_h - h), c_div2((ow - 1) * sw + eff_w - w)
    o_top, o_left = top - cy * sh, left - cx * sw
    o_bot, o_right = -o_top - h + eff_h, -o_left - w + eff_w
    if max(o_top, o_bot, o_left, o_right) <= 0:
        return None
    if o_right <= 0 and o_top > 0 and o_bot < 0:
        case, at_x, at_y = 0, max(o_left, 0), o_top
    elif o_left < 0 and o_right > 0 and o_bot <= 0:
        case, at_x, at_y = 1, o_right, max(o_top, 0)
    elif o_left > 0 and o_right < 0 and o_top <= 0:
        case, at_x, at_y = 2, o_left, max(o_bot, 0)
    elif o_left <= 0 and o_top < 0 and o_bot > 0:
        case, at_x, at_y = 3, max(o_right, 0), o_bot
    else:
        return None
    ey = (np.arange(kh) * dh)[:, None]
    ex = (np.arange(kw) * dw)[None, :]
    up = ey < at_y if case < 2 else eff_h - ey <= at_y
    side = eff_w - ex <= at_x if case & 1 else ex < at_x
    return (up | side).astype(np.int64)


def _pool(v, ph, pw, fn):
    """A non-overlapping VALID pool of (H, W, C) with ``fn`` over each window."""
    h, w = v.shape[0] // ph, v.shape[1] // pw
    return fn(v[:h * ph, :w * pw].reshape(h, ph, w, pw, -1), axis=(1, 3))
