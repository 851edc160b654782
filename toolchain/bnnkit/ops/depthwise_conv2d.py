"""DEPTHWISE_CONV_2D, float32 (bnn_depthwise_conv2d_f32.c): constant filter
[1, kh, kw, in_c * depth_multiplier] (TFLite's layout, used as is), optional
bias (input 2, -1 = absent: zeros), any depth multiplier, strides, dilation,
SAME/VALID, fused NONE/RELU/RELU6/RELU_N1_TO_1.

Bit-exact with LCE's interpreter. Each output starts from its bias and adds one
product per tap inside the image, in (ky, kx) order, the multiply and the add
rounded separately (no FMA); taps in the padding are skipped; then the clamp
``min(max(acc, lo), hi)``, with (lo, hi) = (-FLT_MAX, FLT_MAX) for NONE, so an
infinity becomes +-FLT_MAX and a NaN stays NaN. That is the order of TFLite's
optimized float depthwise kernel (optimized/depthwiseconv_float.h: accumulator
buffer filled with the bias, rows of taps added with ``acc += w * x``), not
XNNPACK's (which would use FMAs on this host and keep infinities).

Measured with benchmarks/depthwise_order.py: on tiny converted models (3x3,
3x2, 5x5, 7x7 and 1x4 kernels; 5-64 channels; multipliers 1, 2, 3; strides 1
and 2; SAME and VALID; dilation 2; with and without bias; RELU) this order
matched 100 % of the interpreter's outputs bit for bit, while the other seven
candidates (from the bias or from 0 with the bias last, FMA or not, (ky, kx) or
(kx, ky)) matched 20-77 % (except where they are the same sum: a zero bias, a
one-row kernel). The LCE test in tests/kernels/test_bnn_depthwise_conv2d_f32.py
asserts the generated C's bytes equal the interpreter's. Skipping a padding tap
and adding 0 * w differ only when the accumulator is -0.0, which needs a -0.0
bias; the converter stores +0.0 there, so the two cannot be told apart on
converted models; the kernel skips, as TFLite does. The clamp of infinities
and NaN was checked on the interpreter too. (Measured on an x86-64 host; on Arm
TFLite picks NEON row kernels, not checked here.)
"""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from ._geometry import out_size, same_pad
from .base import Cost, OpKind, prod, register

FLT_MAX = float(np.finfo(np.float32).max)
# fused activation -> (code in bnn_depthwise_conv2d_params.act, lo, hi)
ACTIVATIONS = {"NONE": (0, -FLT_MAX, FLT_MAX), "RELU": (1, 0.0, FLT_MAX),
               "RELU6": (2, 0.0, 6.0), "RELU_N1_TO_1": (3, -1.0, 1.0)}


def geometry(low, n):
    """The fields of bnn_depthwise_conv2d_params by name."""
    h, w, c = low.shapes[n.inputs[0]]
    _, kh, kw, oc = n.consts["weights"].shape
    dm = n.params["depth_multiplier"]
    sh, sw = n.params["stride"]
    dh, dw = n.params["dilation"]
    pad = n.params["padding"]
    oh, ow = out_size(h, kh, sh, pad, dh), out_size(w, kw, sw, pad, dw)
    if pad == "SAME":
        pt, pl = same_pad(h, (kh - 1) * dh + 1, sh, oh), same_pad(w, (kw - 1) * dw + 1, sw, ow)
    else:
        pt = pl = 0
    if oc != c * dm or oh < 1 or ow < 1:
        raise BnnkitError(f"{n.name}: inconsistent depthwise convolution shapes")
    return dict(in_h=h, in_w=w, in_c=c, depth_multiplier=dm, k_h=kh, k_w=kw, stride_h=sh,
                stride_w=sw, dilation_h=dh, dilation_w=dw, pad_top=pt, pad_left=pl,
                out_h=oh, out_w=ow, act=ACTIVATIONS[n.params["activation"]][0])


@register
class DepthwiseConv2D(OpKind):
    kind = "depthwise_conv2d"
    tflite = ("DEPTHWISE_CONV_2D",)
    files = ("bnn_depthwise_conv2d_f32.c",)

    def lower(self, ctx, op):
        ins = op.inputs
        if len(ins) < 2 or not ctx.need_float(*ins, *op.outputs):
            return None
        o = op.options
        if o.get("activation") not in ACTIVATIONS:
            return ctx.problem(f"fused activation {o.get('activation')}")
        if o.get("padding") not in ("SAME", "VALID"):
            return ctx.problem(f"padding {o.get('padding')}")
        w = ctx.const(ins[1])
        if w is None:
            return ctx.problem("non-constant depthwise filter")
        w = np.asarray(w, np.float32)
        in_shape = ctx.graph.tensor(ins[0]).shape
        if w.ndim != 4 or w.shape[0] != 1 or len(in_shape) != 4 or in_shape[0] != 1:
            return ctx.problem(f"depthwise filter {w.shape} on input {tuple(in_shape)} "
                               "(need [1, kh, kw, C] on [1, H, W, C])")
        c, oc = int(in_shape[3]), int(w.shape[3])
        if c < 1 or oc % c:
            return ctx.problem(f"{oc} output channels are not a multiple of {c} input channels")
        dm = oc // c
        if o.get("depth_multiplier") not in (dm, 0, None):
            # TFLite takes the multiplier from the shapes; a contradicting option is suspect
            return ctx.problem(f"depth_multiplier {o['depth_multiplier']} but filter has "
                               f"{oc} channels for {c} inputs")
        stride, dil = (o["stride_h"], o["stride_w"]), (o["dilation_h"], o["dilation_w"])
        if min(stride) < 1 or min(dil) < 1:
            return ctx.problem(f"stride {stride} / dilation {dil}")
        if len(ins) > 2 and ins[2] >= 0:
            bias = ctx.const(ins[2])
            if bias is None:
                return ctx.problem("non-constant depthwise bias")
            bias = np.asarray(bias, np.float32).reshape(-1)
            if bias.size != oc:
                return ctx.problem(f"bias of {bias.size} values for {oc} channels")
        else:
            bias = np.zeros(oc, np.float32)
        return ctx.node(self.kind, [ins[0]], {
            "stride": stride, "dilation": dil, "padding": o["padding"],
            "depth_multiplier": dm, "activation": o["activation"]},
            {"weights": w, "bias": bias.astype(np.float32)})

    def output_shape(self, n, low):
        h, w, c = low.shapes[n.inputs[0]]
        _, kh, kw, oc = n.consts["weights"].shape
        (sh, sw), (dh, dw), pad = n.params["stride"], n.params["dilation"], n.params["padding"]
        return (out_size(h, kh, sh, pad, dh), out_size(w, kw, sw, pad, dw), oc)

    def emit(self, b, i, n):
        g = geometry(b.low, n)
        _, kh, kw, oc = n.consts["weights"].shape
        wn = b.const("dw_w", "float", n.consts["weights"].reshape(-1),
                     f"{n.name} depthwise filter [{kh}][{kw}][{oc}]")
        bn = b.const("dw_b", "float", n.consts["bias"], f"{n.name} bias [{oc}]")
        pname = f"dw_p{i:02d}"
        b.struct("bnn_depthwise_conv2d_params", pname, **g)
        return [f"bnn_depthwise_conv2d_f32(&{pname}, {b.buf(n.inputs[0])}, {wn}, {bn}, "
                f"{b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        """One multiply-add per tap inside the image (padding taps are skipped;
        counted here as if every tap were inside: out_h * out_w * oc * kh * kw)."""
        _, kh, kw, oc = n.consts["weights"].shape
        positions = prod(low.shapes[n.outputs[0]][:2])
        return Cost(macs=positions * oc * kh * kw,
                    const_bytes=4 * (n.consts["weights"].size + n.consts["bias"].size))

    def reference(self, n, inputs, low):
        return depthwise_reference(inputs[0], n.consts["weights"], n.consts["bias"],
                                   n.params["stride"], n.params["dilation"],
                                   n.params["padding"], n.params["activation"])


def depthwise_reference(x, w, b, stride, dilation, padding, activation="NONE"):
    """TFLite's optimized float depthwise conv as LCE runs it. x: (H, W, C),
    w: (1, kh, kw, C * dm), b: (C * dm,). From the bias, ``acc = acc + x * w``
    (two roundings) per tap in (ky, kx) order, taps outside the image skipped,
    then ``min(max(acc, lo), hi)``."""
    x = np.asarray(x, np.float32)
    h, wd, c = x.shape
    _, kh, kw, oc = w.shape
    dm = oc // c
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = out_size(h, kh, sh, padding, dh), out_size(wd, kw, sw, padding, dw)
    if padding == "SAME":
        pt, pl = same_pad(h, (kh - 1) * dh + 1, sh, oh), same_pad(wd, (kw - 1) * dw + 1, sw, ow)
    else:
        pt = pl = 0
    xr = np.repeat(x, dm, axis=2)  # output channel o reads input channel o // dm
    acc = np.broadcast_to(np.asarray(b, np.float32), (oh, ow, oc)).copy()
    oy, ox = np.arange(oh), np.arange(ow)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN as in C
        acc = _accumulate(acc, xr, w, oy, ox, (h, wd), (sh, sw), (dh, dw), (pt, pl))
    _, lo, hi = ACTIVATIONS[activation]
    lo, hi = np.float32(lo), np.float32(hi)
    acc = np.where(acc < lo, lo, acc)  # max(acc, lo): NaN stays NaN
    acc = np.where(hi < acc, hi, acc)  # min(acc, hi)
    return acc.astype(np.float32)


def _accumulate(acc, xr, w, oy, ox, size, stride, dilation, pad):
    """acc + x * w over the inside taps, (ky, kx) order, every output at once."""
    (h, wd), (sh, sw), (dh, dw), (pt, pl) = size, stride, dilation, pad
    _, kh, kw, _ = w.shape
    for ky in range(kh):
        iy = oy * sh - pt + ky * dh
        ys = (iy >= 0) & (iy < h)
        for kx in range(kw):
            ix = ox * sw - pl + kx * dw
            xs = (ix >= 0) & (ix < wd)
            if not ys.any() or not xs.any():
                continue
            # only inside taps are added: a padding tap leaves acc untouched
            sub = acc[np.ix_(ys, xs)]
            products = (xr[np.ix_(iy[ys], ix[xs])] * w[0, ky, kx]).astype(np.float32)
            acc[np.ix_(ys, xs)] = (sub + products).astype(np.float32)
    return acc
