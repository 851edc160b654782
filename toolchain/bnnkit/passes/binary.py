"""Binary fusions: 1-bit dense layers, popcount thresholds, sign tests folded
into what precedes them."""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from ..lower import Lowered
from ..ops import prod
from ..ops._bits import pack_bits
from ._graph import consumers, producer


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
        users = consumers(nodes, deq.outputs[0])
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
        users = consumers(nodes, tensor)
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
            p = producer(nodes, t)
            if (p is None or p.kind not in ("mul", "add") or "values" not in p.consts
                    or p.params.get("relu") or len(consumers(nodes, t)) != 1):
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
    from ..ops.dequantize_s8 import dequantize_paths

    nodes = low.nodes
    for quant in [n for n in nodes if n.kind == "quantize"]:
        deq = producer(nodes, quant.inputs[0])
        if (deq is None or deq.kind != "dequantize_s8" or deq.outputs[0] == low.output
                or len(consumers(nodes, deq.outputs[0])) != 1):
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
