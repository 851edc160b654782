"""DEPTHWISE_CONV_2D, int8 (bnn_depthwise_conv2d_s8.c): TFLite's per-channel
quantized depthwise convolution, byte for byte as LCE 0.16's interpreter.

TFLite 2.16 on x86 runs optimized_integer_ops::DepthwiseConvPerChannel's
general path (the 3x3 kernels are aarch64 only): acc[o] = bias[o] + sum over
the taps inside the input of (x - zp_in) * w[o] in int32, output channel o
reading input channel o // depth_multiplier; then optimized_ops::Quantize,
out = clamp(requantize(acc, M_o) + zp_out) with M_o = in_scale * w_scale[o] /
out_scale (in double, as CONV_2D) as a Q31 multiplier and shift
(ops/_quant.py). Its two roundings are gemmlowp's: a rounding doubling high
multiply (ties toward +inf), then a rounding right shift whose ties depend on
the channel. Quantize handles whole groups of 8 channels with (SSE-emulated)
NEON, a rounding shift with ties toward +inf, and the last out_c % 8 channels
one by one with MultiplyByQuantizedMultiplier, gemmlowp's RoundingDivideByPOT,
ties away from zero. So channels below ``up_channels = out_c // 8 * 8`` round
ties up, the others away. Measured on the interpreter with power-of-two scales
(every other accumulator an exact tie): out_c = 4, 6, 10, 13, 17, 20, 35, both
paddings, strides 1 and 2; a single rule for all channels mismatches on ties.

bnnkit folds -zp_in * sum(w[o]) into the bias and adds zp_in * w for each tap
outside the input (a zero-point padded input): the same int32 sum, as long as
no partial sum leaves int32, which lowering checks.

Example:
    >>> from bnnkit.ops.depthwise_conv2d_s8 import depthwise_s8_reference
    >>> params = {"stride": (1, 1), "dilation": (1, 1), "padding": "VALID", "zp_in": 0,
    ...           "zp_out": 0, "act": (-128, 127), "up_channels": 0}
    >>> x = np.ones((2, 2, 1), np.int8); w = np.full((1, 2, 2, 1), 3, np.int8)
    >>> depthwise_s8_reference(x, w, [2], [1 << 30], [0], params).tolist()  # (2 + 12) / 2
    [[[7]]]
"""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from ._geometry import out_size, rows_read_before_written, same_pad
from ._quant import INT32_MAX, requantize
from .base import Cost, OpKind, prod, register
from .conv2d_s8 import (fast_requant, fold_input_offset, int32_bias, requant_consts,
                        requant_params)

UP_GROUP = 8  # channels TFLite's Quantize rounds together (ties up); the rest: away
MAX_CHANNELS = 2048  # TFLite's accumulator buffer (kAccBufferMaxSize) holds one position's


def window(h: int, w: int, kh: int, kw: int, stride, dilation, padding: str):
    """(out_h, out_w, pad_top, pad_left) of a dilated kh x kw depthwise window.

    Example:
        >>> window(12, 10, 3, 3, (2, 2), (1, 1), "SAME")
        (6, 5, 0, 0)
        >>> window(7, 7, 3, 3, (1, 1), (2, 2), "SAME")
        (7, 7, 2, 2)
    """
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = out_size(h, kh, sh, padding, dh), out_size(w, kw, sw, padding, dw)
    if padding != "SAME":
        return oh, ow, 0, 0
    return oh, ow, same_pad(h, (kh - 1) * dh + 1, sh, oh), same_pad(w, (kw - 1) * dw + 1, sw, ow)


def up_channels(out_c: int) -> int:
    """How many leading channels TFLite's output stage rounds ties toward +inf
    (whole groups of 8); the others round ties away from zero.

    Example:
        >>> up_channels(20), up_channels(7)
        (16, 0)
    """
    return out_c // UP_GROUP * UP_GROUP


def params_c(low, n) -> dict:
    """The fields of bnn_depthwise_conv2d_s8_params by name (ints only).

    Example (a node of 3 input channels, multiplier 2, 3x3, stride 2, SAME)::

        params_c(low, n)  # {'in_h': 12, 'in_w': 10, 'in_c': 3, 'depth_multiplier': 2, ...}
    """
    h, w, c = low.shapes[n.inputs[0]]
    _, kh, kw, oc = n.consts["weights"].shape
    dm = n.params["depth_multiplier"]
    (sh, sw), (dh, dw) = n.params["stride"], n.params["dilation"]
    oh, ow, pt, pl = window(h, w, kh, kw, (sh, sw), (dh, dw), n.params["padding"])
    if oc != c * dm or oh < 1 or ow < 1 or (oh, ow, oc) != tuple(low.shapes[n.outputs[0]]):
        raise BnnkitError(f"{n.name}: inconsistent depthwise convolution shapes")
    lo, hi = n.params["act"]
    return dict(in_h=h, in_w=w, in_c=c, depth_multiplier=dm, k_h=kh, k_w=kw, stride_h=sh,
                stride_w=sw, dilation_h=dh, dilation_w=dw, pad_top=pt, pad_left=pl, out_h=oh,
                out_w=ow, in_zero_point=n.params["zp_in"], out_zero_point=n.params["zp_out"],
                act_min=lo, act_max=hi, up_channels=n.params["up_channels"],
                padded_rows=int(padded_rows(kh, kw, dm, dh, dw)),
                fast_requant=int(fast_requant(n.consts["bias"], kh * kw, n.consts["shift"])))


def padded_rows(kh: int, kw: int, dm: int, dh: int, dw: int) -> bool:
    """3x3, depth multiplier 1, no dilation (DS-CNN's and MobileNet's): the
    kernel copies the three rows an output row reads, padded with the zero
    point, into scratch and runs nine unrolled taps at every position.

    Example:
        >>> padded_rows(3, 3, 1, 1, 1), padded_rows(3, 3, 2, 1, 1)
        (True, False)
    """
    return (kh, kw, dm, dh, dw) == (3, 3, 1, 1, 1)


def padded_rows_scratch(fields: dict) -> int:
    """Scratch bytes of the padded-rows path: three rows of
    bnn_dw_padded_row_bytes, whole words; 0 without it."""
    if not fields["padded_rows"]:
        return 0
    row = ((fields["out_w"] - 1) * fields["stride_w"] + 3) * fields["in_c"]
    return -(-3 * row // 4) * 4


def depthwise_weights(ctx, idx, in_c):
    """The int8 filter [1, kh, kw, oc] and its scales (one, or one per output
    channel on axis 3), or None after a problem."""
    t = ctx.graph.tensor(idx)
    if t.data is None or t.dtype != "int8" or not t.quantized:
        return ctx.problem("the depthwise filter must be a constant int8 tensor with quantization")
    w = t.data
    if w.ndim != 4 or w.shape[0] != 1 or min(w.shape) < 1:
        return ctx.problem(f"depthwise filter of shape {tuple(w.shape)} (need [1, kh, kw, C * m])")
    oc = int(w.shape[3])
    if oc % in_c:
        return ctx.problem(f"{oc} output channels are not a multiple of {in_c} input channels")
    if t.scale.size not in (1, oc) or (t.scale.size > 1 and t.quant_axis != 3):
        return ctx.problem(f"filter {t.name} has {t.scale.size} scales on axis {t.quant_axis} "
                           f"(1, or one per output channel on axis 3)")
    if t.zero_point.size not in (1, t.scale.size) or np.any(t.zero_point != 0):
        return ctx.problem(f"filter {t.name} needs zero points of 0 (one per scale)")
    if not np.all(np.isfinite(t.scale) & (t.scale > 0)):
        return ctx.problem(f"filter {t.name} needs positive finite scales")
    return np.asarray(w, np.int8), t.scale


@register
class DepthwiseConv2DS8(OpKind):
    kind = "depthwise_conv2d_s8"
    dtype = "int8"
    tflite = ("DEPTHWISE_CONV_2D",)
    files = ("bnn_depthwise_conv2d_s8.c",)

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        if len(ins) < 2:
            return ctx.problem("needs an input and a filter")
        if not ctx.need_int8(ins[0], op.outputs[0]):
            return None
        in_shape = tuple(ctx.graph.tensor(ins[0]).shape)
        if len(in_shape) != 4 or in_shape[0] != 1 or min(in_shape) < 1:
            return ctx.problem(f"input of shape {in_shape} (need [1, H, W, C])")
        if o.get("padding") not in ("SAME", "VALID"):
            return ctx.problem(f"padding {o.get('padding')}")
        stride = (o.get("stride_h", 0), o.get("stride_w", 0))
        dil = (o.get("dilation_h", 1), o.get("dilation_w", 1))
        if min(stride) < 1 or min(dil) < 1:
            return ctx.problem(f"stride {stride} / dilation {dil} (positive values needed)")
        c = int(in_shape[3])
        got = depthwise_weights(ctx, ins[1], c)
        if got is None:
            return None
        w, w_scale = got
        _, kh, kw, oc = w.shape
        dm = oc // c
        if o.get("depth_multiplier") not in (dm, 0, None):
            # TFLite takes the multiplier from the shapes; a contradicting option is suspect
            return ctx.problem(f"depth_multiplier {o['depth_multiplier']} but the filter has "
                               f"{oc} channels for {c} inputs")
        if oc > MAX_CHANNELS:
            return ctx.problem(f"{oc} output channels (TFLite's int8 depthwise kernel holds at "
                               f"most {MAX_CHANNELS})")
        bias = int32_bias(ctx, ins, oc)
        if bias is None:
            return None
        rq = requant_params(ctx, op, w_scale, oc)
        if rq is None:
            return None
        mult, shift, zp_out, lo, hi = rq
        zp_in = ctx.quant[ins[0]][1]
        # TFLite's sum (x - zp_in) * w and bnnkit's partial sums must stay in int32
        folded = fold_input_offset(bias, w.reshape(-1, oc).T, zp_in, ctx.where)
        reach = int(kh) * int(kw) * 255 * 128
        if max(np.abs(bias).max(), np.abs(folded).max()) + reach > INT32_MAX:
            return ctx.problem("the bias is so large that the int32 sums could overflow")
        return ctx.node(self.kind, [ins[0]], {
            "stride": stride, "dilation": dil, "padding": o["padding"], "depth_multiplier": dm,
            "zp_in": zp_in, "zp_out": zp_out, "act": (lo, hi),
            # TFLite's reference kernel rounds every channel's ties away from zero
            "up_channels": 0 if ctx.reference == "tflite" else up_channels(oc)},
            {"weights": w, "bias": folded, "mult": mult, "shift": shift})

    def output_shape(self, n, low):
        h, w, _ = low.shapes[n.inputs[0]]
        _, kh, kw, oc = n.consts["weights"].shape
        oh, ow, _, _ = window(h, w, kh, kw, n.params["stride"], n.params["dilation"],
                              n.params["padding"])
        return (oh, ow, oc)

    def emit(self, b, i, n):
        fields = params_c(b.low, n)
        _, kh, kw, oc = n.consts["weights"].shape
        pname = f"dw_s8_p{i:02d}"
        b.struct("bnn_depthwise_conv2d_s8_params", pname, **fields)
        wn = b.const("dw_w", "int8_t", n.consts["weights"].reshape(-1),
                     f"{n.name} int8 depthwise filter [{kh}][{kw}][{oc}]")
        bn, mn, sn = requant_consts(b, "dw", n)
        return [f"bnn_depthwise_conv2d_s8(&{pname}, {b.buf(n.inputs[0])}, {wn}, {bn}, {mn}, "
                f"{sn}, {b.scratch(i, 'uint32_t')}, {b.buf(n.outputs[0])});"]

    def scratch_bytes(self, b, n) -> int:
        return padded_rows_scratch(params_c(b.low, n))

    def in_place_inputs(self, n, low) -> tuple:
        # padded rows: each input row copied once, before an output row lands on it
        f = params_c(low, n)
        if not f["padded_rows"]:
            return ()
        ok = rows_read_before_written(f["in_h"], f["in_w"] * f["in_c"], f["out_h"],
                                      f["out_w"] * f["in_c"], f["stride_h"], f["pad_top"], 3)
        return (0,) if ok else ()

    def cost(self, n, low):
        """MACs counted as if every tap were inside the input; constants: the
        int8 filter, then bias (rounded up to 4), multiplier and shift words."""
        _, kh, kw, oc = n.consts["weights"].shape
        positions = prod(low.shapes[n.outputs[0]][:2])
        return Cost(macs=positions * oc * kh * kw,
                    const_bytes=int(n.consts["weights"].size) + 4 * (-(-oc // 4) * 4 + 2 * oc))

    def reference(self, n, inputs, low):
        return depthwise_s8_reference(inputs[0], n.consts["weights"], n.consts["bias"],
                                      n.consts["mult"], n.consts["shift"], n.params)


def depthwise_s8_reference(x, w, folded_bias, mult, shift, params):
    """numpy of bnn_depthwise_conv2d_s8: int32 sums of the folded bias and x * w
    over every tap of an input padded with zp_in (output channel o reading input
    channel o // m), requantized with ties up below ``up_channels`` and away
    from zero above, plus zp_out, clamped to the activation range.

    Example:
        >>> params = {"stride": (1, 1), "dilation": (1, 1), "padding": "SAME", "zp_in": 1,
        ...           "zp_out": 0, "act": (-128, 127), "up_channels": 0}
        >>> x = np.int8([[[1], [3]]])                       # 1 x 2, one channel
        >>> w = np.ones((1, 1, 3, 1), np.int8)              # 1 x 3 filter
        >>> depthwise_s8_reference(x, w, [-3], [1 << 30], [0], params).tolist()  # (-3 + 5) / 2
        [[[1], [1]]]
    """
    x = np.asarray(x, np.int64)
    h, wd, c = x.shape
    _, kh, kw, oc = w.shape
    dm = oc // c
    (sh, sw), (dh, dw) = params["stride"], params["dilation"]
    oh, ow, pt, pl = window(h, wd, kh, kw, (sh, sw), (dh, dw), params["padding"])
    xp = np.full((pt + h + (kh - 1) * dh + sh * oh, pl + wd + (kw - 1) * dw + sw * ow, c),
                 params["zp_in"], np.int64)
    xp[pt:pt + h, pl:pl + wd] = x
    xr = np.repeat(xp, dm, axis=2)  # output channel o reads input channel o // dm
    acc = np.broadcast_to(np.asarray(folded_bias, np.int64), (oh, ow, oc)).copy()
    w64 = np.asarray(w, np.int64)
    for ky in range(kh):
        for kx in range(kw):
            y, z = ky * dh, kx * dw
            acc += xr[y:y + sh * oh:sh, z:z + sw * ow:sw][:oh, :ow] * w64[0, ky, kx]
    up = np.arange(oc) < params["up_channels"]
    q = np.where(up, requantize(acc, mult, shift, "up"), requantize(acc, mult, shift, "away"))
    lo, hi = params["act"]
    return np.clip(q + params["zp_out"], lo, hi).astype(np.int8)
