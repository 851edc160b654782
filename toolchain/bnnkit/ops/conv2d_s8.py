"""CONV_2D, int8 (bnn_conv2d_s8.c): TFLite's per-channel quantized
convolution, byte for byte, optionally fused with the max pool after it.

TFLite: acc[c] = bias[c] + sum over taps of (x - zp_in) * w[c] (int32, taps
outside the input add nothing), out = clamp(requantize(acc, M_c) + zp_out)
with M_c = in_scale * w_scale[c] / out_scale (in double) as a fixed-point
multiplier, the last rounding's ties toward +inf (ruy's, ops/_quant.py). bnnkit folds -zp_in * sum(w[c]) into the bias and
pads with zp_in, which gives the same int32 sums; a max pool over
requantized values equals the requantized max accumulator (requantization
is monotone, as is the clamp).
"""

from __future__ import annotations

import numpy as np

from ._geometry import rows_read_before_written, window_layout
from ._quant import INT32_MAX, INT32_MIN, activation_range, quantize_multiplier, requantize
from .base import Cost, OpKind, prod, register
from .conv2d import conv_output_shape, geometry
from .elementwise_s8 import add_s8, elementwise_params

GROUP = 4  # channels summed together (bnn_conv2d_s8.c)


def per_channel_requant(in_scale: float, w_scale, out_scale: float, n: int,
                        float_product: bool = False):
    """Q31 multipliers and shifts of in_scale * w_scale[c] / out_scale, computed
    in double from the float32 scales as TFLite's PopulateConvolutionQuantizationParams;
    ``float_product``: in_scale * w_scale rounded to float32 first, as TFLite's
    GetQuantizedConvolutionMultipler does for a per-tensor fully connected layer."""
    w_scale = np.broadcast_to(np.asarray(w_scale, np.float32), (n,))
    s_in, s_out = np.float32(in_scale), float(np.float32(out_scale))
    pairs = [quantize_multiplier((float(np.float32(s_in * s)) if float_product
                                  else float(s_in) * float(s)) / s_out)
             for s in w_scale]
    return (np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32))


def quantized_weights(ctx, idx, n_out, what="filter"):
    """The int8 weights of a conv / FC and their scales (one, or one per output
    channel along axis 0), or None after a problem."""
    t = ctx.graph.tensor(idx)
    if t.data is None or t.dtype != "int8" or not t.quantized:
        return ctx.problem(f"the {what} must be a constant int8 tensor with quantization")
    if t.scale.size not in (1, n_out) or (t.scale.size > 1 and t.quant_axis != 0):
        return ctx.problem(f"{what} {t.name} has {t.scale.size} scales on axis {t.quant_axis} "
                           f"(1, or one per output channel on axis 0)")
    if np.any(t.zero_point != 0) or not np.all(np.isfinite(t.scale) & (t.scale > 0)):
        return ctx.problem(f"{what} {t.name} needs zero points of 0 and positive scales")
    return t.data, t.scale


def int32_bias(ctx, ins, n_out):
    """The int32 bias (zeros without one), or None after a problem."""
    if len(ins) < 3 or ins[2] < 0:
        return np.zeros(n_out, np.int64)
    t = ctx.graph.tensor(ins[2])
    if t.data is None or t.dtype != "int32" or t.data.size != n_out:
        return ctx.problem(f"the bias must be a constant int32 tensor of {n_out} values")
    return t.data.reshape(-1).astype(np.int64)


def fold_input_offset(bias, weights2d, zp_in: int, where: str):
    """bias[c] - zp_in * sum(w[c]): the int32 bias of sums over raw int8 inputs."""
    folded = np.asarray(bias, np.int64) - int(zp_in) * weights2d.astype(np.int64).sum(axis=1)
    if folded.min(initial=0) < INT32_MIN or folded.max(initial=0) > INT32_MAX:
        from ..errors import BnnkitError

        raise BnnkitError(f"{where}: the bias with the input offset folded in leaves int32")
    return folded


def fast_requant(bias, taps: int, shift) -> bool:
    """Whether bnn_requant.h's bnn_requantize_away_small is exact for a layer:
    every accumulator (the folded bias plus ``taps`` products of int8 values,
    each at most 2^14 in magnitude) stays below 2^30, and every shift is
    negative. Then the kernels use it (about half the instructions per output).

    Example:
        >>> fast_requant(np.array([5000]), 3 * 3 * 64, np.array([-7])), fast_requant([0], 9, [0])
        (True, False)
    """
    bias, shift = np.asarray(bias, np.int64), np.asarray(shift, np.int64)
    bound = int(np.abs(bias).max(initial=0)) + taps * 128 * 128
    return bool(shift.size and (shift <= -1).all() and bound < 1 << 30)


def requant_ties(ctx) -> str:
    """The last rounding of CONV_2D's and FULLY_CONNECTED's requantization:
    ties toward +inf for LCE's interpreter (ruy's x86 output stage), away from
    zero for TFLite's reference kernels (MultiplyByQuantizedMultiplier, as
    TFLite Micro and CMSIS-NN's arm_nn_requantize)."""
    return "away" if ctx.reference == "tflite" else "up"


def requant_params(ctx, op, w_scale, n_out, float_product=False):
    """(multipliers, shifts, zp_out, act_min, act_max) of an int8 op, or None."""
    s_in, zp_in = ctx.quant[op.inputs[0]]
    s_out, zp_out = ctx.quant[op.outputs[0]]
    rng = activation_range(op.options.get("activation", "NONE"), s_out, zp_out)
    if rng is None:
        return ctx.problem(f"fused activation {op.options.get('activation')} on int8")
    mult, shift = per_channel_requant(s_in, w_scale, s_out, n_out, float_product)
    if np.any(shift > 30) or np.any(shift < -31):
        return ctx.problem("a requantization scale outside TFLite's range")
    return mult, shift, zp_out, rng[0], rng[1]


@register
class Conv2DS8(OpKind):
    kind = "conv2d_s8"
    dtype = "int8"
    tflite = ("CONV_2D",)
    files = ("bnn_conv2d_s8.c",)

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        if not ctx.need_int8(ins[0], *op.outputs):
            return None
        if (o.get("dilation_w", 1), o.get("dilation_h", 1)) != (1, 1):
            return ctx.problem("dilated convolution")
        wt = ctx.graph.tensor(ins[1])
        if wt.data is None or wt.data.ndim != 4:
            return ctx.problem("the filter must be a constant [out, kh, kw, in] tensor")
        n_out = wt.data.shape[0]
        got = quantized_weights(ctx, ins[1], n_out)
        bias = int32_bias(ctx, ins, n_out)
        if got is None or bias is None:
            return None
        w, w_scale = got
        in_shape = ctx.graph.tensor(ins[0]).shape
        if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != w.shape[3]:
            return ctx.problem(f"filter {tuple(w.shape)} on input {tuple(in_shape)} (need "
                               "[out, kh, kw, C] on [1, H, W, C])")
        if min(o["stride_h"], o["stride_w"]) < 1 or o["padding"] not in ("SAME", "VALID"):
            return ctx.problem(f"stride ({o['stride_h']}, {o['stride_w']}), padding "
                               f"{o['padding']}")
        rq = requant_params(ctx, op, w_scale, n_out)
        if rq is None:
            return None
        mult, shift, zp_out, lo, hi = rq
        zp_in = ctx.quant[ins[0]][1]
        return ctx.node(self.kind, [ins[0]], {
            "stride": (o["stride_h"], o["stride_w"]), "padding": o["padding"], "pool": None,
            "zp_in": zp_in, "zp_out": zp_out, "act": (lo, hi), "ties": requant_ties(ctx)},
            {"weights": w.astype(np.int8),
             "bias": fold_input_offset(bias, w.reshape(n_out, -1), zp_in, ctx.where),
             "mult": mult, "shift": shift})

    def output_shape(self, n, low):
        return conv_output_shape(n, low)

    def prepare(self, n, low, target):
        # the rows path stores int16 rows and weights for SMLAD on cores with DSP
        g = geometry(low, n)
        n.params["wide"] = bool(target and target.dsp) and g["conv_h"] * g["conv_w"] != 1
        # a fused residual ADD's step (BNN_S8_ADD_POSITIONS in bnn_conv2d_s8.h)
        n.params["add_positions"] = ADD_POSITIONS[bool(target and target.small_core)]

    def scratch_bytes(self, b, n) -> int:
        g = geometry(b.low, n)
        if g["conv_h"] * g["conv_w"] == 1:
            return scratch_bytes_s8(g["kh"] * g["kw"] * g["c"], g["oc"])
        # a fused residual: ADD_POSITIONS requantized outputs (bnn_conv2d_s8.h)
        row = (-(-min(g["conv_w"], n.params["add_positions"]) * g["oc"] // 4) * 4
               if "residual_add" in n.params else 0)
        return ring_layout(g, n.params["wide"])["scratch_bytes"] + row

    def in_place_inputs(self, n, low) -> tuple:
        # a fused residual: each output row is read from the skip before it is written
        if "residual_add" in n.params:
            return (1,)
        # the rows path copies each input row once into its ring, in order
        g = geometry(low, n)
        if g["conv_h"] * g["conv_w"] == 1 or n.params["pool"]:
            return ()
        # a one-row kernel that widens the rows runs them backward (bnn_conv2d_s8.h)
        backward = g["kh"] == 1 and g["conv_w"] * g["oc"] > g["w"] * g["c"]
        ok = rows_read_before_written(g["h"], g["w"] * g["c"], g["conv_h"], g["conv_w"] * g["oc"],
                                      g["sh"], g["pt"], g["kh"], backward)
        return (0,) if ok else ()

    def emit(self, b, i, n):
        g = geometry(b.low, n)
        w = n.consts["weights"]
        oc, kh, kw, ic = w.shape
        words = -(-kh * kw * ic // 4)
        pool = g["pool"]
        lo, hi = n.params["act"]
        pname = f"conv_s8_p{i:02d}"
        if g["conv_h"] * g["conv_w"] == 1:  # one position: the patch path
            ring = {"rows": 0, "len": 0, "wide": False}
            packed, form = interleaved_s8(w.reshape(oc, -1)), "four channels interleaved word by word"
        else:
            ring = ring_layout(g, n.params["wide"])
            packed = (row_pairs_s16 if ring["wide"] else row_pairs_s8)(w)
            form = ("[channel pair][ky][tap pair][2] int16 pairs" if ring["wide"]
                    else "[channel pair][ky][tap][2]")
        b.struct("bnn_conv2d_s8_params", pname, in_h=g["h"], in_w=g["w"], in_c=g["c"], out_c=oc,
                 k_h=kh, k_w=kw, stride_h=g["sh"], stride_w=g["sw"], pad_top=g["pt"],
                 pad_left=g["pl"], conv_h=g["conv_h"], conv_w=g["conv_w"], pool_h=pool[0],
                 pool_w=pool[1], patch_words=words, pad_value=n.params["zp_in"],
                 out_zero_point=n.params["zp_out"], act_min=lo, act_max=hi,
                 ties_up=int(n.params["ties"] == "up"),
                 fast_requant=int(fast_requant(n.consts["bias"], kh * kw * ic, n.consts["shift"])),
                 wide=ring["wide"],
                 ring_rows=ring["rows"], ring_len=ring["len"])
        wn = b.const("conv_w", "uint32_t", packed,
                     f"{n.name} int8 filter [{oc}][{kh}][{kw}][{ic}] as {form}")
        bn, mn, sn = requant_consts(b, "conv", n)
        if "residual_add" in n.params:  # the ADD after it, fused (passes.residual)
            out_shape = tuple(b.low.shapes[n.outputs[0]])
            aname = f"conv_add_p{i:02d}"
            elementwise_params(b, aname, "add_s8", n.params["residual_add"],
                               [out_shape, out_shape], out_shape)
            return [f"bnn_conv2d_add_s8(&{pname}, {b.buf(n.inputs[0])}, {wn}, {bn}, {mn}, {sn}, "
                    f"&{aname}, {b.buf(n.inputs[1])}, {int(n.params['conv_first'])}, "
                    f"{b.scratch(i, 'uint32_t')}, {b.buf(n.outputs[0])});"]
        return [f"bnn_conv2d_s8(&{pname}, {b.buf(n.inputs[0])}, {wn}, {bn}, {mn}, {sn}, "
                f"{b.scratch(i, 'uint32_t')}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        oc, kh, kw, ic = n.consts["weights"].shape
        pool = n.params["pool"] or (1, 1)
        positions = prod(low.shapes[n.outputs[0]][:2]) * pool[0] * pool[1]
        if positions == 1:
            w_bytes = oc * -(-kh * kw * ic // 4) * 4
        elif n.params.get("wide", False):  # decided per target by prepare
            w_bytes = (oc + oc % 2) * kh * -(-kw * ic // 2) * 4
        else:
            w_bytes = -(-(oc + oc % 2) * kh * kw * ic // 4) * 4
        return Cost(macs=positions * oc * kh * kw * ic, const_bytes=w_bytes + 12 * oc)

    def reference(self, n, inputs, low):
        y = conv_s8_reference(inputs[0], n.consts["weights"], n.consts["bias"],
                              n.consts["mult"], n.consts["shift"], n.params)
        if "residual_add" in n.params:
            skip = np.asarray(inputs[1]).reshape(y.shape)
            a, b = (y, skip) if n.params["conv_first"] else (skip, y)
            return add_s8(a, b, n.params["residual_add"]).reshape(y.shape)
        return y


ADD_POSITIONS = {True: 8, False: 64}  # BNN_S8_ADD_POSITIONS on small cores and others


def scratch_bytes_s8(taps: int, out_c: int) -> int:
    """bnn_conv2d_s8's patch path scratch: the patch, its
    int16 widening and one accumulator per channel (+3 for a last group)."""
    return 4 * (3 * -(-taps // 4) + out_c + 3)


def requant_consts(b, prefix: str, n):
    """The bias (zero-padded to whole groups of four), multiplier and shift
    arrays of an int8 conv or fully connected node; their C names."""
    oc = len(n.consts["mult"])
    bias = np.zeros(-(-oc // GROUP) * GROUP, np.int64)
    bias[:oc] = n.consts["bias"]
    return (b.const(f"{prefix}_b", "int32_t", bias, f"{n.name} bias with the input offset folded in"),
            b.const(f"{prefix}_m", "int32_t", n.consts["mult"], f"{n.name} requantization multipliers"),
            b.const(f"{prefix}_s", "int32_t", n.consts["shift"], f"{n.name} requantization shifts"))


def ring_layout(g, dsp: bool) -> dict:
    """The rows path's ring of padded input rows (bnn_conv2d_s8.h): ``rows``
    rows hold every input row one pooled output row reads, ``len`` elements
    each (the padded width, one element for the last odd tap pair's zero
    weight, rounded up to even); int16 (``wide``) on a core with SMLAD, where
    the weights are int16 too (twice the bytes, no widening at each
    position); and the scratch it all needs.

    Example:
        >>> lenet_conv1 = dict(h=28, w=28, c=1, oc=6, kh=5, kw=5, sh=1, sw=1, conv_h=28,
        ...                    conv_w=28, pool=(2, 2))
        >>> ring_layout(lenet_conv1, dsp=True)
        {'rows': 6, 'len': 34, 'wide': True, 'scratch_bytes': 924}
    """
    rows = (g["pool"][0] - 1) * g["sh"] + g["kh"]
    cols = g["conv_w"] // g["pool"][1] * g["pool"][1]
    length = ((cols - 1) * g["sw"] + g["kw"]) * g["c"] + 1
    length += length % 2
    out_w = g["conv_w"] // g["pool"][1]
    words = (-(-rows * length * (1 + dsp) // 4) + g["kh"] + out_w * -(-g["oc"] // 4) * 4
             + 4 * -(-g["oc"] // 2))
    return {"rows": rows, "len": length, "wide": dsp, "scratch_bytes": 4 * words}


def row_pairs_s8(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights -> the rows path's uint32 words: bytes in
    [channel pair][ky][kx*in_c tap][2 channels] order (an odd last channel
    paired with zeros), zero-filled to a whole word.

    Example:
        >>> [hex(v) for v in row_pairs_s8(np.int8([[[[1], [2]]], [[[3], [4]]]]))]  # 2 ch, 1x2
        ['0x4020301']
    """
    oc, kh, kw, ic = w.shape
    paired = np.zeros((oc + oc % 2, kh, kw * ic), np.int8)
    paired[:oc] = w.reshape(oc, kh, kw * ic)
    flat = paired.reshape(-1, 2, kh, kw * ic).transpose(0, 2, 3, 1).reshape(-1)
    return np.concatenate([flat, np.zeros(-flat.size % 4, np.int8)]).view(np.uint32).copy()


def row_pairs_s16(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights -> the rows path's int16 form: words in
    [channel pair][ky][tap pair][2 channels] order, each word the pair's
    even tap in its low half (what SMLAD multiplies with an input pair), the
    taps of a row zero-filled to whole pairs.

    Example:
        >>> [hex(v) for v in row_pairs_s16(np.int8([[[[1], [2], [-1]]], [[[3], [4], [5]]]]))]
        ['0x20001', '0x40003', '0xffff', '0x5']
    """
    oc, kh, kw, ic = w.shape
    pairs = -(-kw * ic // 2)
    paired = np.zeros((oc + oc % 2, kh, 2 * pairs), np.int16)
    paired[:oc, :, :kw * ic] = w.reshape(oc, kh, kw * ic)
    words = paired.reshape(-1, 2, kh, pairs, 2).transpose(0, 2, 3, 1, 4)  # [cp][ky][p][ch][2]
    return np.ascontiguousarray(words).reshape(-1).view(np.uint32).copy()


def interleaved_s8(w2d: np.ndarray) -> np.ndarray:
    """[oc][taps] int8 -> uint32 words: the taps zero-filled to whole words of
    four, then groups of four channels interleaved word by word (the last group
    holds the rest): [group][word][channel][4 taps], little-endian.

    Example:
        >>> interleaved_s8(np.int8([[1, 2, 3, 4, 5], [-1, 0, 0, 0, 0]])).tolist()
        [67305985, 255, 5, 0]
    """
    oc, taps = w2d.shape
    words = -(-taps // 4)
    padded = np.zeros((oc, 4 * words), np.int8)
    padded[:, :taps] = w2d
    out = []
    for c in range(0, oc, GROUP):
        grp = padded[c:c + GROUP].reshape(-1, words, 4)  # [g][word][4]
        out.append(grp.transpose(1, 0, 2).reshape(-1))  # [word][g][4]
    return np.concatenate(out).view(np.uint32).copy()


def conv_s8_reference(x, w, folded_bias, mult, shift, params):
    """numpy of bnn_conv2d_s8: int32 sums over the raw int8 input padded with
    zp_in, the folded bias, the max over each pool window, requantization."""
    h, wd, ic = x.shape
    oc, kh, kw, _ = w.shape
    sh, sw = params["stride"]
    oh, ow, pt, pl = window_layout(h, wd, kh, kw, params["stride"], params["padding"])
    xp = np.full((h + kh + sh * oh, wd + kw + sw * ow, ic), params["zp_in"], np.int64)
    xp[pt:pt + h, pl:pl + wd] = x
    acc = np.broadcast_to(np.asarray(folded_bias, np.int64), (oh, ow, oc)).copy()
    w64 = w.astype(np.int64)
    for ky in range(kh):
        for kx in range(kw):
            win = xp[ky:ky + sh * oh:sh, kx:kx + sw * ow:sw]  # (oh, ow, ic)
            acc += win @ w64[:, ky, kx, :].T
    if params.get("pool"):
        ph, pw = params["pool"]
        acc = acc[:oh // ph * ph, :ow // pw * pw]
        acc = acc.reshape(oh // ph, ph, ow // pw, pw, oc).max(axis=(1, 3))
    lo, hi = params["act"]
    out = requantize(acc, mult, shift, params["ties"]) + params["zp_out"]
    return np.clip(out, lo, hi).astype(np.int8)
