"""Graph lowering: TFLite/LCE ops -> bnnkit kernel nodes.

``lower(graph)`` runs these passes in order, each a small function:

1. :func:`to_nodes`            one node per TFLite op; unsupported ops collected
                               and reported all at once.
2. :func:`fuse_binary_dense`   ``LceQuantize -> LceDequantize -> FULLY_CONNECTED``
                               with +-c_j rows becomes a 1-bit dense layer.
3. :func:`fuse_threshold`      binary dense -> [MUL/ADD]* -> ``LceQuantize``
                               becomes integer popcount thresholds.
4. :func:`fuse_affine_sign`    [MUL/ADD by constants]+ -> ``LceQuantize``
                               becomes one float sign test per value.
5. :func:`fuse_conv_pool`      ``CONV_2D -> MAX_POOL_2D`` (non-overlapping)
                               computed together: the conv output never exists.
6. :func:`fuse_bconv_pool`     ``LceBconv2d -> MAX_POOL_2D / LceBMaxPool2d``
                               (non-overlapping) likewise.
7. :func:`fuse_encode_conv`    threshold encoding -> conv as interval indices
                               or bit-planes.
8. :func:`alias_reshapes`      ``RESHAPE`` shares its input's memory.

Bit convention (LCE's): bit 1 means -1, bit 0 means +1 (sign(0) = +1); bit i
of 32-bit word k holds channel 32k+i; padding bits are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BnnkitError
from .graph import Graph
from .ops import Node, kind_for, prod
from .ops._bits import pack_bits, words  # noqa: F401  (re-exported)
from .ops.elementwise import strip_batch as _strip_batch
from .ops.lce_bconv2d import INT32_MAX, INT32_MIN, LCE_CLAMPS  # noqa: F401
from .ops.lce_bmaxpool import lce_padding as _lce_padding  # noqa: F401
from .ops.threshold_encode import find_threshold_encodings


KINDS = {"float32": "f32", "int32": "bits", "int8": "i8"}  # activation dtype -> buffer kind
MAX_ELEMENTS = 1 << 26  # values in one tensor: 256 MiB of floats, far past any device


@dataclass
class Lowered:
    nodes: list
    shapes: dict  # tensor id -> shape (without batch)
    kinds: dict  # tensor id -> "f32" | "bits" | "i8"
    input: int
    output: int
    names: dict  # tensor id -> name
    quant: dict = None  # tensor id -> (scale, zero_point) of each int8 tensor


# ------------------------------------------------------------------ pass 1

def _const(graph: Graph, idx: int):
    return None if idx < 0 else graph.tensor(idx).data


class LowerContext:
    """What an op kind's ``lower`` sees of the graph while one op is lowered:
    the op's description for messages, constants, and the activation tables."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.shapes, self.kinds, self.names, self.quant = {}, {}, {}, {}
        self.problems = []
        self.op = None
        self.where = ""

    def activation(self, idx: int) -> int:
        t = self.graph.tensor(idx)
        self.shapes[idx] = _strip_batch(t.shape)
        self.kinds[idx] = KINDS.get(t.dtype, "f32")
        self.names[idx] = t.name
        if t.dtype == "int8":
            self.quant[idx] = self.per_tensor_quant(t)
        return idx

    def per_tensor_quant(self, t):
        """(scale, zero_point) of an int8 activation; a problem if it has none,
        or per-axis, or values no int8 kernel can use."""
        if not t.quantized or t.scale.size != 1:
            self.problem(f"int8 tensor {t.name} needs one scale and zero point")
            return (1.0, 0)
        scale, zp = float(t.scale[0]), int(t.zero_point[0])
        if not (np.isfinite(scale) and scale > 0) or not -128 <= zp <= 127:
            self.problem(f"int8 tensor {t.name} has scale {scale!r}, zero point {zp} "
                         "(a positive finite scale and -128..127 needed)")
            return (1.0, 0)
        return (scale, zp)

    def const(self, idx: int):
        return _const(self.graph, idx)

    def problem(self, message: str):
        """Record what this op cannot do; returns None for ``return ctx.problem(...)``."""
        self.problems.append(f"{self.where}: {message}")
        return None

    def need_int8(self, *idx) -> bool:
        """The tensors are int8 (activations with per-tensor quantization)."""
        for i in idx:
            if i >= 0 and self.graph.tensor(i).dtype != "int8":
                t = self.graph.tensor(i)
                self.problem(f"{t.dtype} tensor {t.name} where int8 is needed")
                return False
        return True

    def need_float(self, *idx) -> bool:
        for i in idx:
            if i >= 0 and self.graph.tensor(i).dtype != "float32":
                t = self.graph.tensor(i)
                self.problem(f"{t.dtype} tensor {t.name} (only float32 is supported)")
                return False
        return True

    def node(self, kind: str, inputs: list, params: dict | None = None,
             consts: dict | None = None, outputs: list | None = None) -> Node:
        """A node of ``kind`` reading ``inputs`` and writing the op's outputs."""
        return Node(kind, list(inputs), list(self.op.outputs if outputs is None else outputs),
                    params or {}, consts or {}, self.where)


def _shapes_agree(ctx: LowerContext, kind, node) -> bool:
    """The flatbuffer's output shape must be the one the op computes: buffers
    are sized from it, and a kernel writing more would overrun them."""
    try:
        computed = kind.output_shape(node, ctx)
    except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError) as exc:
        ctx.problem(f"inconsistent shapes ({type(exc).__name__}: {exc})")
        return False
    computed = computed if isinstance(computed, list) else [computed]
    for t, want in zip(node.outputs, computed):
        have = tuple(ctx.shapes[t])
        if have != tuple(int(d) for d in want):
            ctx.problem(f"output {ctx.names[t]} has shape {have} in the file but the op "
                        f"computes {tuple(int(d) for d in want)}")
            return False
        if any(d <= 0 for d in have):
            ctx.problem(f"output {ctx.names[t]} has an empty shape {have}")
            return False
        if int(np.prod(have, dtype=np.int64)) > MAX_ELEMENTS:
            ctx.problem(f"output {ctx.names[t]} has {int(np.prod(have, dtype=np.int64)):,} values "
                        f"(at most {MAX_ELEMENTS:,})")
            return False
    return True


def to_nodes(graph: Graph, source: str = "model") -> Lowered:
    """One node per op, each lowered by its op kind (:mod:`bnnkit.ops`), on a
    graph :func:`check_dataflow` accepted. Everything unsupported is gathered
    into one error."""
    ctx = LowerContext(graph)
    nodes = []

    inp = graph.tensor(graph.inputs[0])
    if inp.dtype not in ("float32", "int8"):
        ctx.problems.append(f"input {inp.name} is {inp.dtype} (float32 or int8 needed)")
    if (not inp.shape or any(d < 1 for d in inp.shape)
            or int(np.prod(inp.shape, dtype=np.int64)) > MAX_ELEMENTS):
        raise BnnkitError(f"{source}: the model input {inp.name} has shape {tuple(inp.shape)} "
                          f"(positive sizes, at most {MAX_ELEMENTS:,} values)")
    ctx.activation(graph.inputs[0])

    encodings = find_threshold_encodings(graph, ctx.const)
    skip = {i for enc in encodings.values() for i in enc["ops"]}
    for op in graph.ops:
        ctx.op = op
        ctx.where = f"{op.type} -> {graph.tensor(op.outputs[0]).name}" if op.outputs else op.type
        if op.index in encodings:
            enc = encodings[op.index]
            if enc["input"] not in ctx.shapes:
                ctx.activation(enc["input"])
            ctx.activation(op.outputs[0])
            nodes.append(ctx.node("threshold_encode", [enc["input"]], {"planes": False},
                                  {"lower": enc["lower"], "upper": enc["upper"]}))
            continue
        if op.index in skip:
            continue
        for i in op.outputs:
            ctx.activation(i)
        ins = op.inputs
        t0 = graph.tensor(ins[0]) if ins else None
        if t0 is not None and t0.data is None and ins[0] not in ctx.shapes:
            ctx.activation(ins[0])
        kind = kind_for(op.type, graph.tensor(ins[0]).dtype if ins else "")
        if kind is None:
            ctx.problem(f"op {op.type} is not supported")
            continue
        try:
            node = kind.lower(ctx, op)
            if node is not None:
                consts = [graph.tensor(t).name for t in node.inputs if t not in ctx.shapes]
                if consts:
                    ctx.problem(f"computes on the constant {consts[0]} (only activations are "
                                "computed at run time; constant folding does not cover this op)")
                elif _shapes_agree(ctx, kind, node):
                    nodes.append(node)
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError,
                AttributeError, OverflowError) as exc:
            # options or operands missing or malformed in the file: say so, once
            ctx.problem(f"malformed operator ({type(exc).__name__}: {exc})")
        except BnnkitError as exc:
            ctx.problem(str(exc))
    if ctx.problems:
        raise BnnkitError(f"{source}: unsupported: " + "; ".join(ctx.problems))
    made = {t for n in nodes for t in n.outputs} | {graph.inputs[0]}
    if graph.outputs[0] not in made:
        raise BnnkitError(f"{source}: the model's output {graph.tensor(graph.outputs[0]).name} "
                          "is computed by no op")
    return Lowered(nodes, ctx.shapes, ctx.kinds, graph.inputs[0], graph.outputs[0], ctx.names,
                   ctx.quant)


# ------------------------------------------------------------------ helpers

def _consumers(nodes, tensor):
    return [n for n in nodes if tensor in n.inputs]


def _producer(nodes, tensor):
    return next((n for n in nodes if tensor in n.outputs), None)


def binary_rows(weights: np.ndarray):
    """If every row j holds only +c_j and -c_j (c_j >= 0), return (c, negative
    mask); else None. LCE folds the next batch norm's scale into such rows."""
    w = np.asarray(weights, np.float32)
    c = np.abs(w[:, 0]).astype(np.float32)
    if not np.all(np.abs(w) == c[:, None]):
        return None
    return c, np.signbit(w)


# ------------------------------------------------------------------ pass 2

def fuse_binary_dense(low: Lowered) -> Lowered:
    nodes = low.nodes
    for deq in [n for n in nodes if n.kind == "dequantize"]:
        bits = deq.inputs[0]
        users = _consumers(nodes, deq.outputs[0])
        fcs = [u for u in users if u.kind == "fc" and u.inputs[0] == deq.outputs[0]]
        fused_all = True
        for fc in fcs:
            rows = binary_rows(fc.consts["weights"])
            if rows is None:
                fused_all = False
                continue
            scale, negative = rows
            n_in = fc.consts["weights"].shape[1]
            fc.kind = "binary_dense"
            fc.inputs = [bits]
            fc.consts = {"weights": pack_bits(negative), "scale": scale, "bias": fc.consts["bias"]}
            fc.params.update(n_in=n_in, n_out=len(scale), output="float")
        # a dequantize that is the model's output (or feeds others) stays
        if fused_all and fcs and len(fcs) == len(users) and deq.outputs[0] != low.output:
            nodes.remove(deq)
    return low


# ------------------------------------------------------------------ pass 3

def _affine_chain(nodes, tensor):
    """Follow single-consumer MUL/ADD-by-constant nodes from ``tensor`` to an
    LceQuantize; return (chain, quantize) or (None, None)."""
    chain = []
    while True:
        users = _consumers(nodes, tensor)
        if len(users) != 1:
            return None, None
        u = users[0]
        if u.kind == "quantize":
            return chain, u
        if u.kind in ("mul", "add") and "values" in u.consts:
            chain.append(u)
            tensor = u.outputs[0]
            continue
        return None, None


def _apply_chain(values: np.ndarray, chain, channel: int) -> np.ndarray:
    """float32 evaluation, one rounding per op as TFLite does it."""
    v = values.astype(np.float32)
    for n in chain:
        c = n.consts["values"][channel]
        v = (v * c if n.kind == "mul" else v + c).astype(np.float32)
        if n.params.get("relu"):
            v = np.maximum(v, np.float32(0))
    return v


def derive_thresholds(n_in: int, scale, bias, relu: bool, chain=()) -> tuple:
    """Integer thresholds equivalent to ``sign(chain(relu?(dot*c + b)))``.

    ``dot = n_in - 2*popcount``. For each output the float32 value is computed
    for every reachable popcount; being monotone in it, the negative set is
    ``popcount > thr`` (or, flipped, ``popcount <= thr``). Constant outputs
    fall out as thr = -1 (always -1) or thr = n_in (always +1).
    LCE's value is not ``dot*c + b`` rounded but a float sum of +-c_j terms
    that depends on which inputs are -1: :func:`thresholds_ambiguous` finds the
    popcounts where the two signs may differ; the kernel computes LCE's value
    there instead.
    Returns (thr int32[n_out], flip bool[n_out]).
    """
    pcs = np.arange(n_in + 1)
    dots = (n_in - 2 * pcs).astype(np.float32)
    thr = np.empty(len(scale), np.int32)
    flip = np.zeros(len(scale), bool)
    for j, (c, b) in enumerate(zip(scale, bias)):
        neg = _naive_negative(dots, c, b, relu, chain, j)  # LCE's quantize: bit 1 where x < 0
        if not neg.any():
            thr[j] = n_in
        elif neg.all():
            thr[j] = -1
        elif not neg[0]:  # negative for large popcounts: a suffix
            first = int(np.argmax(neg))
            if not neg[first:].all():
                raise BnnkitError("internal: non-monotone threshold")
            thr[j] = first - 1
        else:  # negative for small popcounts: a prefix -> flipped
            last = int(np.argmin(neg))
            if neg[last:].any():
                raise BnnkitError("internal: non-monotone threshold")
            thr[j] = last - 1
            flip[j] = True
    return thr, flip


def _naive_negative(dots, c, b, relu, chain, j):
    """``chain(relu?(dot*c + b)) < 0`` in float32, per dot: what a threshold encodes."""
    with np.errstate(all="ignore"):
        v = (dots * np.float32(c)).astype(np.float32)
        v = (v + np.float32(b)).astype(np.float32)
        if relu:
            v = np.maximum(v, np.float32(0))
        return _apply_chain(v, chain, j) < 0


def thresholds_ambiguous(n_in: int, scale, bias, relu: bool, chain=(), ranges: bool = False):
    """Per output: True if rounding could make LCE's sign differ from the
    integer threshold of :func:`derive_thresholds` for some input.

    LCE sums the +-c_j terms of a binary row as floats (four partial sums, see
    ops/fully_connected.py): the result depends on which inputs are -1, not only
    on how many, and differs from dot*c_j + b_j by at most E: 2^-24 times the sum
    of the magnitudes of every intermediate result. A popcount is unambiguous
    when the whole interval [v - E, v + E] lies on one side of zero after the
    batch-norm chain and the threshold's own float value (dot*c_j rounded, + b_j
    rounded) agrees; an output is ambiguous if some popcount is not.

    Returns a bool mask [n_out]; with ``ranges=True`` also (pc_lo, pc_hi) int32
    [n_out]: all ambiguous popcounts of output j lie in pc_lo[j]..pc_hi[j]
    (pc_lo > pc_hi when there is none); outside, the threshold is exact.

    Example:
        >>> thresholds_ambiguous(3, np.float32([1.0, 1.0]), np.float32([0.5, 1.0]), False)
        array([False,  True])
        >>> thresholds_ambiguous(3, np.float32([1.0]), np.float32([1.0]), False, ranges=True)
        (array([ True]), array([2], dtype=int32), array([2], dtype=int32))
    """
    dots64 = (n_in - 2 * np.arange(n_in + 1)).astype(np.float64)
    dots32 = dots64.astype(np.float32)
    n_out = len(scale)
    if n_in >= 4 and n_out >= 4:  # four partial sums of m terms, then two adds and one more
        m = -(-n_in // 4)
        terms = 2 * m * (m + 1) + 16 * m
    else:  # one sequential sum
        terms = n_in * (n_in + 1) // 2 + 4 * n_in
    mask = np.zeros(n_out, bool)
    pc_lo = np.full(n_out, n_in + 1, np.int32)
    pc_hi = np.full(n_out, -1, np.int32)
    with np.errstate(all="ignore"):
        for j, (c, b) in enumerate(zip(np.asarray(scale, np.float64),
                                       np.asarray(bias, np.float64))):
            # each rounding is at most 2^-24 of its result, |partial sum of k terms| <= k*|c|
            err = terms * abs(c) * 2.0**-24 + 2 * abs(b) * 2.0**-24
            v = dots64 * c + b
            lo = np.nextafter((v - err).astype(np.float32), np.float32(-np.inf))
            hi = np.nextafter((v + err).astype(np.float32), np.float32(np.inf))
            if relu:
                lo, hi = np.maximum(lo, np.float32(0)), np.maximum(hi, np.float32(0))
            neg_lo = _apply_chain(lo, chain, j) < 0
            amb = (neg_lo != (_apply_chain(hi, chain, j) < 0)) | \
                (neg_lo != _naive_negative(dots32, c, b, relu, chain, j))
            if amb.any():
                at = np.flatnonzero(amb)
                mask[j], pc_lo[j], pc_hi[j] = True, at[0], at[-1]
    return (mask, pc_lo, pc_hi) if ranges else mask


def _exact_chain(relu_dense: bool, chain):
    """The chain as the bit kernel evaluates it for ambiguous outputs, or None:
    the dense's own ReLU, then a per-channel MUL and/or ADD (in that order),
    themselves without activation."""
    kinds = tuple(n.kind for n in chain)
    if kinds not in ((), ("mul",), ("add",), ("mul", "add")):
        return None
    if any(n.params.get("relu") or n.params.get("op_act", "NONE") != "NONE" for n in chain):
        return None
    return {n.kind: np.asarray(n.consts["values"], np.float32) for n in chain}


def fuse_threshold(low: Lowered) -> Lowered:
    """Binary dense -> [MUL/ADD]* -> LceQuantize: one popcount threshold per
    output; outputs whose popcounts near the threshold are ambiguous
    (:func:`thresholds_ambiguous`) also get LCE's exact float evaluation for
    those popcounts (consts ``exact_at`` [j, pc_lo, pc_hi] and ``exact_val``
    [c_j, b_j, mul_j, add_j] per such output). A layer whose chain the kernel
    cannot evaluate keeps the float output when some output is ambiguous."""
    nodes = low.nodes
    for bd in [n for n in nodes if n.kind == "binary_dense" and n.params["output"] == "float"]:
        chain, quant = _affine_chain(nodes, bd.outputs[0])
        if quant is None:
            continue
        n_in, relu = bd.params["n_in"], bd.params.get("relu", False)
        scale, bias = bd.consts["scale"], bd.consts["bias"]
        mask, pc_lo, pc_hi = thresholds_ambiguous(n_in, scale, bias, relu, chain, ranges=True)
        exact = _exact_chain(relu, chain)
        if mask.any() and exact is None:
            continue  # the float sum and the sign stay, exactly as LCE computes them
        thr, flip = derive_thresholds(n_in, scale, bias, relu, chain)
        consts = {"weights": bd.consts["weights"], "threshold": thr}
        if flip.any():
            consts["flip"] = pack_bits(flip)
        if mask.any():
            at = np.flatnonzero(mask)
            n_out = len(scale)
            mul = exact.get("mul", np.ones(n_out, np.float32))
            add = exact.get("add", np.zeros(n_out, np.float32))
            consts["exact_at"] = np.stack([at, pc_lo[at], pc_hi[at]], 1).astype(np.int32)
            consts["exact_val"] = np.stack([scale[at], bias[at], mul[at], add[at]],
                                           1).astype(np.float32)
        bd.params["output"] = "bits"
        bd.params["flip"] = bool(flip.any())
        bd.consts = consts
        bd.outputs = list(quant.outputs)
        for n in chain + [quant]:
            nodes.remove(n)
    return low


# ------------------------------------------------------------------ pass 4

AFFINE_FORMS = (("mul",), ("add",), ("mul", "add"))


def fuse_affine_sign(low: Lowered) -> Lowered:
    """Fold the MUL/ADD of a batch norm into the quantize that follows it.

    The quantize kernel evaluates ``x*m + a`` in float32 exactly as TFLite does
    (two roundings), so the sign test is bit-exact.
    """
    nodes = low.nodes
    for quant in [n for n in nodes if n.kind == "quantize"]:
        chain = []  # the producers of quant's input, nearest last
        t = quant.inputs[0]
        while len(chain) < 2:
            p = _producer(nodes, t)
            if (p is None or p.kind not in ("mul", "add") or "values" not in p.consts
                    or p.params.get("relu") or len(_consumers(nodes, t)) != 1):
                break
            chain.insert(0, p)
            t = p.inputs[0]
        while chain and tuple(n.kind for n in chain) not in AFFINE_FORMS:
            chain.pop(0)  # keep the longest suffix of the form [MUL][ADD]
        if chain:
            quant.inputs = [chain[0].inputs[0]]
            for n in chain:
                quant.consts[n.kind] = n.consts["values"]
                nodes.remove(n)
    return low


def sign_thresholds_s8(values_of_q) -> tuple | None:
    """Per channel, the int8 threshold and flip with ``(q < thr) ^ flip ==
    (value(q) < 0)`` for every int8 q, from ``values_of_q`` [256, channels]
    (row k is q = k - 128); None if some channel's sign is not monotone in q.

    Example:
        >>> q = np.arange(-128, 128, dtype=np.float32)[:, None]
        >>> thr, flip = sign_thresholds_s8(np.hstack([q - 3, 3 - q, q * 0]))
        >>> thr.tolist(), flip.tolist()
        ([3, 4, -128], [False, True, False])
    """
    neg = np.asarray(values_of_q) < 0
    count = neg.sum(axis=0)
    q = np.arange(-128, 128)[:, None]
    prefix = neg == (q < -128 + count)  # negative for the smallest q
    suffix = neg == (q >= 128 - count)  # negative for the largest q
    if not np.all(prefix.all(axis=0) | suffix.all(axis=0)):
        return None
    flip = ~prefix.all(axis=0) | (count == 256)
    thr = np.where(flip, 128 - count, -128 + count)
    thr = np.where(count == 256, -128, np.where(count == 0, -128, thr))
    return thr.astype(np.int8), flip


def fuse_dequantize_sign(low: Lowered) -> Lowered:
    """``DEQUANTIZE -> [MUL][ADD] -> LceQuantize`` (the batch norm before a
    binary layer of an LCE int8 model, already folded into the quantize by
    :func:`fuse_affine_sign`) becomes an int8 comparison per channel
    (ops/quantize_bits_s8.py): the float value of each of the 256 int8 inputs
    is computed here exactly as the interpreter does, so the bits are its own.
    Left as it is when a channel is not monotone or the dequantize's
    block and tail rounding (ops/dequantize_s8.py) disagree on a sign."""
    from .ops.dequantize_s8 import dequantize_paths

    nodes = low.nodes
    for quant in [n for n in nodes if n.kind == "quantize"]:
        deq = _producer(nodes, quant.inputs[0])
        if (deq is None or deq.kind != "dequantize_s8" or deq.outputs[0] == low.output
                or len(_consumers(nodes, deq.outputs[0])) != 1):
            continue
        shape = low.shapes[deq.inputs[0]] or (1,)
        channels, size = shape[-1], prod(shape)
        q = np.arange(-128, 128)
        scale, zp = deq.params["scale"], deq.params["zp"]
        per_path = []
        for v in dequantize_paths(q, scale, zp):  # blocks of 8, then the tail
            v = np.repeat(v.astype(np.float32)[:, None], channels, axis=1)
            with np.errstate(all="ignore"):
                if "mul" in quant.consts:
                    v = (v * np.asarray(quant.consts["mul"], np.float32)).astype(np.float32)
                if "add" in quant.consts:
                    v = (v + np.asarray(quant.consts["add"], np.float32)).astype(np.float32)
            per_path.append(v < 0)
        tail_channels = np.unique(np.arange(size // 8 * 8, size) % channels)
        if np.any(per_path[0][:, tail_channels] != per_path[1][:, tail_channels]):
            continue
        found = sign_thresholds_s8(np.where(per_path[0], -1.0, 1.0))
        if found is None:
            continue
        thr, flip = found
        quant.kind = "quantize_bits_s8"
        quant.inputs = [deq.inputs[0]]
        quant.params = {"zp": zp}
        quant.consts = {"threshold": thr}
        if flip.any():
            quant.consts["flip"] = pack_bits(flip)
        nodes.remove(deq)
    return low


# ------------------------------------------------------------------ pass 5

def fuse_conv_pool(low: Lowered) -> Lowered:
    """``CONV_2D -> MAX_POOL_2D``, non-overlapping and VALID, without an
    activation of the pool's own: the conv pools as it goes (float: after its
    ReLU; int8: the largest accumulator, requantized once, the same bytes as
    requantization and clamp are monotone)."""
    nodes = low.nodes
    pools = {"conv2d": "maxpool", "conv2d_s8": "maxpool_s8"}
    for conv in [n for n in nodes if n.kind in pools]:
        users = _consumers(nodes, conv.outputs[0])
        if len(users) != 1 or users[0].kind != pools[conv.kind] or conv.outputs[0] == low.output:
            continue
        pool = users[0]
        if (pool.params["padding"] != "VALID" or pool.params["filter"] != pool.params["stride"]
                or pool.params.get("relu") or pool.params.get("act", (-128, 127)) != (-128, 127)):
            continue
        conv.params["pool"] = pool.params["filter"]
        conv.outputs = list(pool.outputs)
        nodes.remove(pool)
    return low


def fuse_bconv_pool(low: Lowered) -> Lowered:
    """``LceBconv2d -> MAX_POOL_2D`` (float or int8, no clamp of its own) or
    ``-> LceBMaxPool2d`` (bits), non-overlapping and VALID: the binary conv pools
    as it goes, so its unpooled output never takes arena memory."""
    nodes = low.nodes
    for conv in [n for n in nodes if n.kind == "bconv2d" and not n.params["pool"]]:
        users = _consumers(nodes, conv.outputs[0])
        want = {"float": "maxpool", "int8": "maxpool_s8", "bits": "bmaxpool"}[conv.params["output"]]
        if len(users) != 1 or users[0].kind != want or conv.outputs[0] == low.output:
            continue
        pool = users[0]
        if (pool.params["padding"] != "VALID" or pool.params["filter"] != pool.params["stride"]
                or pool.params.get("relu") or pool.params.get("act", (-128, 127)) != (-128, 127)):
            continue
        conv.params["pool"] = tuple(pool.params["filter"])
        conv.outputs = list(pool.outputs)
        nodes.remove(pool)
    return low


# ------------------------------------------------------------------ pass 6

def alias_reshapes(low: Lowered) -> Lowered:
    for n in low.nodes:
        if n.kind == "reshape":
            n.params["alias"] = True
    return low


def fuse_encode_conv(low: Lowered) -> Lowered:
    """A threshold encoding read only by a float conv is not written as floats.
    Disjoint intervals (interval encoding: one channel set per pixel at most)
    become one byte per pixel, the interval's index, over the conv's padded
    input; the conv adds one weight row per tap (bnn_conv2d_index_f32).
    Overlapping ones (thermometer) become bit-planes, one bit per pixel and
    channel, and the conv adds the weights where bits are set. Both skip LCE's
    0 * w products, which change nothing unless a sum is -0.0: a conv with a
    -0.0 bias keeps the float encoding."""
    from .ops.conv2d import geometry, single_position

    for enc in [n for n in low.nodes if n.kind == "threshold_encode"]:
        users = _consumers(low.nodes, enc.outputs[0])
        if len(users) != 1 or users[0].kind != "conv2d" or single_position(users[0]):
            continue
        conv, out = users[0], enc.outputs[0]
        bias = conv.consts["bias"]
        if np.any((bias == 0) & np.signbit(bias)):
            continue
        h, w, c = low.shapes[out]
        conv.params["encoded"] = (h, w, c)
        lo, hi = enc.consts["lower"], enc.consts["upper"]
        order = np.argsort(lo, kind="stable")
        disjoint = bool(np.all(hi[order][:-1] <= lo[order][1:])) and c < 255
        if disjoint:
            g = geometry(low, conv)
            map_h = (g["conv_h"] - 1) * g["sh"] + g["kh"]
            map_w = (g["conv_w"] - 1) * g["sw"] + g["kw"]
            enc.params["index_map"] = conv.params["index_map"] = (g["pt"], g["pl"], map_h, map_w)
            low.shapes[out] = (words(8 * map_h * map_w),)  # one byte per padded pixel
        else:
            enc.params["planes"] = conv.params["planes"] = True
            low.shapes[out] = (c, words(h * w))
        low.kinds[out] = "bits"
    return low


PASSES = (fuse_binary_dense, fuse_threshold, fuse_affine_sign, fuse_dequantize_sign,
          fuse_conv_pool, fuse_bconv_pool,
          fuse_encode_conv, alias_reshapes)


def check_dataflow(graph: Graph, source: str = "model") -> None:
    """The ops must form a graph TFLite could run, in the order stored: every
    operand a constant, the model input or an earlier op's output; every output
    written once, by one op, and never a constant or the model input.

    Example:
        >>> from bnnkit.graph import Graph, Op, Tensor
        >>> t = [Tensor(0, "x", (1, 4), "float32"), Tensor(1, "y", (1, 4), "float32")]
        >>> check_dataflow(Graph(t, [Op(0, "RELU", [1], [0], {})], [0], [1]),
        ...                "m.tflite")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: m.tflite: op 0 (RELU) reads y before any op writes it; ...
    """
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise BnnkitError(f"{source}: bnnkit needs exactly one input and one output "
                          f"(has {len(graph.inputs)} and {len(graph.outputs)})")
    problems = []
    model_input = graph.inputs[0]
    if graph.tensor(model_input).is_constant:
        problems.append(f"the model input {graph.tensor(model_input).name} is a constant")
    written = {model_input}
    for op in graph.ops:
        what = f"op {op.index} ({op.type})"
        for t in op.inputs:
            if t >= 0 and t not in written and not graph.tensor(t).is_constant:
                problems.append(f"{what} reads {graph.tensor(t).name} before any op writes it")
        for t in op.outputs:
            name = graph.tensor(t).name
            if t == model_input:
                problems.append(f"{what} writes {name}, the model input")
            elif t in written:
                problems.append(f"{what} writes {name}, already written")
            elif graph.tensor(t).is_constant:
                problems.append(f"{what} writes {name}, a constant")
            written.add(t)
    if graph.outputs[0] not in written:
        problems.append(f"the model's output {graph.tensor(graph.outputs[0]).name} is "
                        "computed by no op")
    if problems:
        shown = problems[:6] + ([f"and {len(problems) - 6} more"] if len(problems) > 6 else [])
        raise BnnkitError(f"{source}: " + "; ".join(shown))


def lower(graph: Graph, source: str = "model") -> Lowered:
    """The network as kernel nodes: the dataflow checked (:func:`check_dataflow`),
    constants folded (:mod:`bnnkit.fold`), one node per op (:func:`to_nodes`),
    then the fusion passes."""
    from .fold import fold_constants

    check_dataflow(graph, source)
    low = to_nodes(fold_constants(graph), source)
    for p in PASSES:
        low = p(low)
    leftovers = sorted({n.name for n in low.nodes if n.kind == "quantize"
                        and low.kinds.get(n.inputs[0]) != "f32"})
    if leftovers:
        raise BnnkitError(f"{source}: unsupported: " + "; ".join(leftovers))
    return low
