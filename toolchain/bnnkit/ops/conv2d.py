"""CONV_2D, float32: bias + one fused multiply-add per tap in (ky, kx, ic) order,
optional ReLU, optionally fused with the max pool after it (``fuse_conv_pool``)
and optionally reading a threshold encoding as interval indices or bit-planes
(``fuse_encode_conv``). Kernels: bnn_conv2d_f32.c, bnn_conv2d_index_f32.c,
bnn_conv2d_planes_f32.c."""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from ._geometry import same_pad, window_layout
from ._numeric import fma_f32
from .base import Cost, OpKind, prod, register

OC_BLOCK = 8  # BNN_CONV_OC_BLOCK in bnn_kernels.h
GROUP = 8  # BNN_CONV_GROUP in bnn_kernels.h


def channel_blocks(hwio, oc: int, pool) -> np.ndarray:
    """The Cortex-M layout of bnn_conv2d_f32's weights: blocks of B output
    channels, each block's taps one contiguous run, as the register-blocked
    groups read them (B = 6 for a multiple of 6 that is not one of 4 when the
    group is one 2x2 pool window or a run of positions, else 4).

    Example:
        >>> hwio = np.arange(2 * 1 * 1 * 8, dtype=np.float32).reshape(2, 1, 1, 8)
        >>> channel_blocks(hwio, 6, (2, 2)).shape, channel_blocks(hwio, 5, None).shape
        ((1, 2, 1, 1, 6), (2, 2, 1, 1, 4))
        >>> channel_blocks(hwio, 5, None)[1, :, 0, 0, :].tolist()
        [[4.0, 5.0, 6.0, 7.0], [12.0, 13.0, 14.0, 15.0]]
    """
    window = (pool[0] * pool[1]) if pool else 1
    width = 6 if oc % 6 == 0 and oc % 4 != 0 and window in (1, 4) else 4
    count = -(-oc // width)
    kh, kw, ic, padded = hwio.shape
    wide = np.zeros((kh, kw, ic, count * width), np.float32)
    wide[..., :min(padded, count * width)] = hwio[..., :count * width]
    return np.ascontiguousarray(wide.reshape(kh, kw, ic, count, width).transpose(3, 0, 1, 2, 4))


def encoded(n) -> bool:
    """Reads a threshold encoding as interval indices or bit-planes."""
    return bool(n.params.get("planes") or n.params.get("index_map"))


def geometry(low, n):
    """Shapes, strides, padding and pool of a conv2d node, as bnn_conv2d_params wants."""
    if "encoded" in n.params:
        h, w, c = n.params["encoded"]
    else:
        h, w, c = low.shapes[n.inputs[0]]
    oc, kh, kw, ic = n.consts["weights"].shape
    sh, sw = n.params["stride"]
    pool = n.params["pool"] or (1, 1)
    oh, ow, _ = low.shapes[n.outputs[0]]
    ch, cw = oh * pool[0], ow * pool[1]
    if n.params["padding"] == "SAME":
        conv_h, conv_w = -(-h // sh), -(-w // sw)
        pt, pl = same_pad(h, kh, sh, conv_h), same_pad(w, kw, sw, conv_w)
        padded = (conv_h - 1) * sh + kh > h or (conv_w - 1) * sw + kw > w
    else:
        conv_h, conv_w = (h - kh) // sh + 1, (w - kw) // sw + 1
        pt = pl = 0
        padded = False
    if (ch, cw) != (conv_h // pool[0] * pool[0], conv_w // pool[1] * pool[1]) or ic != c:
        raise BnnkitError(f"{n.name}: inconsistent convolution shapes")
    return dict(h=h, w=w, c=c, oc=oc, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pl=pl,
                conv_h=conv_h, conv_w=conv_w, pool=pool, padded=padded)


def conv_output_shape(n, low):
    """(out_h, out_w, out_c) of a conv node with OHWI weights, before any pool."""
    h, w, _ = low.shapes[n.inputs[0]]
    oc, kh, kw, _ = n.consts["weights"].shape
    return window_layout(h, w, kh, kw, n.params["stride"], n.params["padding"])[:2] + (oc,)


def single_position(n) -> bool:
    """A conv with one output position: TFLite runs it as a matrix-vector product
    (sums in another order than a convolution's), and so does bnnkit."""
    return (prod(n.params.get("conv_out", (0,))) == 1 and not n.params.get("pool")
            and not encoded(n))


@register
class Conv2D(OpKind):
    kind = "conv2d"
    tflite = ("CONV_2D",)
    files = ("bnn_conv2d_f32.c",)

    def lower(self, ctx, op):
        ins = op.inputs
        if not ctx.need_float(*ins, *op.outputs):
            return None
        o = op.options
        if (o.get("dilation_w", 1), o.get("dilation_h", 1)) != (1, 1):
            return ctx.problem("dilated convolution")
        if o["activation"] not in ("NONE", "RELU"):
            return ctx.problem(f"fused activation {o['activation']}")
        bias = ctx.const(ins[2]) if len(ins) > 2 else None
        w = ctx.const(ins[1])
        if w is None or w.ndim != 4:
            return ctx.problem("the filter must be a constant [out, kh, kw, in] tensor")
        in_shape = ctx.graph.tensor(ins[0]).shape
        if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != w.shape[3]:
            return ctx.problem(f"filter {tuple(w.shape)} on input {tuple(in_shape)} (need "
                               "[out, kh, kw, C] on [1, H, W, C])")
        if bias is not None and bias.size != w.shape[0]:
            return ctx.problem(f"bias of {bias.size} values for {w.shape[0]} output channels")
        if min(o["stride_h"], o["stride_w"]) < 1 or o["padding"] not in ("SAME", "VALID"):
            return ctx.problem(f"stride ({o['stride_h']}, {o['stride_w']}), padding "
                               f"{o['padding']}")
        return ctx.node(self.kind, [ins[0]], {
            "stride": (o["stride_h"], o["stride_w"]), "padding": o["padding"],
            "relu": o["activation"] == "RELU", "pool": None, "has_bias": bias is not None,
            "conv_out": tuple(int(d) for d in ctx.graph.tensor(op.outputs[0]).shape[1:3])},
            {"weights": w.astype(np.float32),
             "bias": (bias if bias is not None else np.zeros(w.shape[0])).astype(np.float32)})

    def output_shape(self, n, low):
        return conv_output_shape(n, low)

    def kernel_files(self, node):
        if node is not None and node.params.get("planes"):
            return ["bnn_conv2d_planes_f32.c"]
        if node is not None and node.params.get("index_map"):
            return ["bnn_conv2d_index_f32.c"]
        if node is not None and single_position(node):
            return ["bnn_conv2d_f32.c", "bnn_fc_f32.c"]
        return list(self.files)

    def scratch_bytes(self, b, n) -> int:
        """Bytes of zero-padded input window bnn_conv2d_f32 needs (0: none).

        Mirrors bnn_conv2d_f32_scratch_floats(): a group of GROUP positions
        is as many whole pool windows side by side as fit (a run along a row
        without pooling), or a part of one larger window."""
        if encoded(n):
            return 0
        g = geometry(b.low, n)
        if single_position(n):
            whole = (g["pt"], g["pl"], g["kh"], g["kw"]) == (0, 0, g["h"], g["w"])
            return 0 if whole else 4 * g["kh"] * g["kw"] * g["c"]
        if not g["padded"]:
            return 0
        pool_h, pool_w = g["pool"]
        windows = max(GROUP // (pool_h * pool_w), 1)  # whole pool windows per group
        span_w = windows * pool_w
        return 4 * ((g["kh"] + (pool_h - 1) * g["sh"]) * (g["kw"] + (span_w - 1) * g["sw"])
                    * g["c"])

    def emit(self, b, i, n):
        g = geometry(b.low, n)
        oc, kh, kw, ic = n.consts["weights"].shape
        pname = f"conv_p{i:02d}"
        pool = g["pool"]
        params = dict(in_h=g["h"], in_w=g["w"], in_c=g["c"], out_c=oc, k_h=kh, k_w=kw,
                      stride_h=g["sh"], stride_w=g["sw"], pad_top=g["pt"], pad_left=g["pl"],
                      conv_h=g["conv_h"], conv_w=g["conv_w"], pool_h=pool[0], pool_w=pool[1],
                      relu=n.params["relu"])
        src, dst = b.buf(n.inputs[0]), b.buf(n.outputs[0])
        if single_position(n):
            return self._emit_gemv(b, i, n, pname, params, src, dst)
        b.struct("bnn_conv2d_params", pname, **params)
        padded_oc = -(-oc // OC_BLOCK) * OC_BLOCK
        if n.params.get("index_map"):
            return self._emit_index(b, n, pname, padded_oc, src, dst)
        hwio = np.zeros((kh, kw, ic, padded_oc), np.float32)
        hwio[..., :oc] = n.consts["weights"].transpose(1, 2, 3, 0)
        bias = np.zeros(padded_oc, np.float32)
        bias[:oc] = n.consts["bias"]
        bn = b.const("conv_b", "float", bias, f"{n.name} bias [{padded_oc}], padded")
        if n.params.get("planes"):
            wn = b.const("conv_w", "float", hwio,
                         f"{n.name} filter [{kh}][{kw}][{ic}][{padded_oc}] HWIO, O padded")
            return [f"bnn_conv2d_planes_f32(&{pname}, {src}, {wn}, {bn}, {dst});"]
        if b.small_core:
            blocks = channel_blocks(hwio, oc, pool)
            wn = b.const("conv_w", "float", blocks, f"{n.name} filter [{blocks.shape[0]}][{kh}]"
                         f"[{kw}][{ic}][{blocks.shape[-1]}]: blocks of output channels")
        else:
            wn = b.const("conv_w", "float", hwio,
                         f"{n.name} filter [{kh}][{kw}][{ic}][{padded_oc}] HWIO, O padded")
        return [f"bnn_conv2d_f32(&{pname}, {src}, {wn}, {bn}, {b.scratch(i)}, {dst});"]

    def _emit_index(self, b, n, pname, padded_oc, src, dst):
        """Interval indices in: per tap in_c weight rows and an all-zero one."""
        oc, kh, kw, ic = n.consts["weights"].shape
        rows = np.zeros((kh, kw, ic + 1, padded_oc), np.float32)
        rows[:, :, :ic, :oc] = n.consts["weights"].transpose(1, 2, 3, 0)
        bias = np.zeros(padded_oc, np.float32)
        bias[:oc] = n.consts["bias"]
        wn = b.const("conv_w", "float", rows, f"{n.name} filter [{kh}][{kw}][{ic}+1][{padded_oc}]"
                     " HWIO, a zero row per tap, O padded")
        bn = b.const("conv_b", "float", bias, f"{n.name} bias [{padded_oc}], padded")
        map_w = n.params["index_map"][3]
        return [f"bnn_conv2d_index_f32(&{pname}, {src}, {map_w}, {wn}, {bn}, {dst});"]

    def _emit_gemv(self, b, i, n, pname, params, src, dst):
        """One output position: the window as one row, then TFLite's GEMV order."""
        oc, kh, kw, ic = n.consts["weights"].shape
        depth = kh * kw * ic
        wn = b.const("conv_w", "float", n.consts["weights"].reshape(oc, depth),
                     f"{n.name} filter [{oc}][{kh}*{kw}*{ic}]: one output position, a GEMV")
        bn = (b.const("conv_b", "float", n.consts["bias"], f"{n.name} bias")
              if n.params.get("has_bias", True) else "NULL")
        row, stmts = b.scratch(i), []
        if row == "NULL":  # the window is the whole input, in order
            row = src
        else:
            b.struct("bnn_conv2d_params", pname, **params)
            stmts.append(f"bnn_conv2d_f32_window(&{pname}, {src}, {row});")
        return stmts + [f"bnn_fc_f32({row}, {depth}, {wn}, {bn}, {oc}, {int(n.params['relu'])}, "
                        f"{dst});"]

    def cost(self, n, low):
        oc, kh, kw, ic = n.consts["weights"].shape
        pool = n.params["pool"] or (1, 1)
        positions = prod(low.shapes[n.outputs[0]][:2]) * pool[0] * pool[1]
        return Cost(macs=positions * oc * kh * kw * ic,
                    const_bytes=4 * (n.consts["weights"].size + n.consts["bias"].size))

    def reference(self, n, inputs, low):
        x = inputs[0]
        if encoded(n):  # the 0/1 values (threshold_encode's reference): the C skips the
            x = np.asarray(x, np.float32).reshape(n.params["encoded"])  # 0 * w products,
            # which change no sum here (fuse_encode_conv leaves -0.0 biases alone)
        return conv_reference(x, n.consts["weights"], n.consts["bias"], n.params["stride"],
                              n.params["padding"], n.params["relu"], n.params["pool"])


def conv_reference(x, w, b, stride, padding, relu, pool=None):
    """TFLite's optimized float conv as LCE runs it: from the bias, one fused
    multiply-add per tap in (ky, kx, ic) order, zero padding; then ReLU and a
    non-overlapping max pool. x: (H, W, C), w: OHWI."""
    h, wd, ic = x.shape
    oc, kh, kw, _ = w.shape
    sh, sw = stride
    oh, ow, pt, pl = window_layout(h, wd, kh, kw, stride, padding)
    xp = np.zeros((h + kh + sh * oh, wd + kw + sw * ow, ic), np.float32)
    xp[pt:pt + h, pl:pl + wd] = x
    acc = np.broadcast_to(np.asarray(b, np.float32), (oh, ow, oc)).copy()
    for ky in range(kh):
        for kx in range(kw):
            win = xp[ky:ky + sh * oh:sh, kx:kx + sw * ow:sw]
            for c in range(ic):
                acc = fma_f32(win[..., c:c + 1], w[:, ky, kx, c], acc)
    if relu:
        acc = np.maximum(acc, np.float32(0))
    if pool:
        ph, pw = pool
        acc = acc[:oh // ph * ph, :ow // pw * pw]
        acc = acc.reshape(oh // ph, ph, ow // pw, pw, oc).max(axis=(1, 3))
    return acc.astype(np.float32)
