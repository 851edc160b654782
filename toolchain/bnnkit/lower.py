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
6. :func:`alias_reshapes`      ``RESHAPE`` shares its input's memory.

Bit convention (LCE's): bit 1 means -1, bit 0 means +1 (sign(0) = +1); bit i
of 32-bit word k holds channel 32k+i; padding bits are 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import BnnkitError
from .graph import Graph

FLOAT_ELEMENTWISE = ("MUL", "ADD")


@dataclass
class Node:
    kind: str  # conv2d, maxpool, fc, mul, add, quantize, dequantize, binary_dense, softmax, reshape
    inputs: list  # activation tensor ids
    outputs: list
    params: dict = field(default_factory=dict)
    consts: dict = field(default_factory=dict)  # name -> np.ndarray
    name: str = ""


@dataclass
class Lowered:
    nodes: list
    shapes: dict  # tensor id -> shape (without batch)
    kinds: dict  # tensor id -> "f32" | "bits"
    input: int
    output: int
    names: dict  # tensor id -> name


def words(n: int) -> int:
    return (n + 31) // 32


def pack_bits(signs_negative: np.ndarray) -> np.ndarray:
    """Pack a boolean array (..., n) (True = -1) into uint32 words (..., ceil(n/32))."""
    neg = np.asarray(signs_negative, dtype=bool)
    n = neg.shape[-1]
    padded = np.zeros(neg.shape[:-1] + (words(n) * 32,), dtype=np.uint64)
    padded[..., :n] = neg
    grouped = padded.reshape(neg.shape[:-1] + (words(n), 32))
    weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))
    return (grouped * weights).sum(axis=-1).astype(np.uint32)


# ------------------------------------------------------------------ pass 1

def _strip_batch(shape):
    shape = tuple(int(s) for s in shape)
    return shape[1:] if len(shape) > 1 and shape[0] == 1 else shape


def _const(graph: Graph, idx: int):
    return None if idx < 0 else graph.tensor(idx).data


def to_nodes(graph: Graph, source: str = "model") -> Lowered:
    """One node per op. Everything unsupported is gathered into one error."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise BnnkitError(f"{source}: bnnkit needs exactly one input and one output "
                          f"(has {len(graph.inputs)} and {len(graph.outputs)})")
    problems = []
    nodes = []
    shapes, kinds, names = {}, {}, {}

    def activation(idx):
        t = graph.tensor(idx)
        shapes[idx] = _strip_batch(t.shape)
        kinds[idx] = "bits" if t.dtype == "int32" else "f32"
        names[idx] = t.name
        return idx

    inp = graph.tensor(graph.inputs[0])
    if inp.dtype != "float32":
        problems.append(f"input {inp.name} is {inp.dtype} (float32 needed)")
    activation(graph.inputs[0])

    encodings = _find_threshold_encodings(graph)
    skip = {i for enc in encodings.values() for i in enc["ops"]}
    for op in graph.ops:
        where = f"{op.type} -> {graph.tensor(op.outputs[0]).name}" if op.outputs else op.type
        if op.index in encodings:
            enc = encodings[op.index]
            if enc["input"] not in shapes:
                activation(enc["input"])
            nodes.append(Node("threshold_encode", [enc["input"]], [activation(op.outputs[0])],
                              {"planes": False}, {"lower": enc["lower"], "upper": enc["upper"]},
                              where))
            continue
        if op.index in skip:
            continue
        out = [activation(i) for i in op.outputs]
        ins = op.inputs
        t0 = graph.tensor(ins[0]) if ins else None
        if t0 is not None and t0.data is None and ins[0] not in shapes:
            activation(ins[0])

        def need_float(*idx):
            for i in idx:
                if i >= 0 and graph.tensor(i).dtype != "float32":
                    problems.append(f"{where}: {graph.tensor(i).dtype} tensor "
                                    f"{graph.tensor(i).name} (only float32 is supported)")
                    return False
            return True

        if op.type == "CONV_2D":
            if need_float(*ins, *op.outputs):
                o = op.options
                if (o.get("dilation_w", 1), o.get("dilation_h", 1)) != (1, 1):
                    problems.append(f"{where}: dilated convolution")
                    continue
                if o["activation"] not in ("NONE", "RELU"):
                    problems.append(f"{where}: fused activation {o['activation']}")
                    continue
                bias = _const(graph, ins[2]) if len(ins) > 2 else None
                w = _const(graph, ins[1])
                if w is None:
                    problems.append(f"{where}: non-constant filter")
                    continue
                nodes.append(Node("conv2d", [ins[0]], out, {
                    "stride": (o["stride_h"], o["stride_w"]), "padding": o["padding"],
                    "relu": o["activation"] == "RELU", "pool": None},
                    {"weights": w.astype(np.float32),
                     "bias": (bias if bias is not None else np.zeros(w.shape[0])).astype(np.float32)},
                    where))
        elif op.type == "MAX_POOL_2D":
            o = op.options
            if need_float(*ins) and o["activation"] in ("NONE", "RELU"):
                nodes.append(Node("maxpool", [ins[0]], out, {
                    "filter": (o["filter_h"], o["filter_w"]), "stride": (o["stride_h"], o["stride_w"]),
                    "padding": o["padding"], "relu": o["activation"] == "RELU"}, {}, where))
            elif o["activation"] not in ("NONE", "RELU"):
                problems.append(f"{where}: fused activation {o['activation']}")
        elif op.type == "RESHAPE":
            nodes.append(Node("reshape", [ins[0]], out, {}, {}, where))
        elif op.type == "FULLY_CONNECTED":
            o = op.options
            w = _const(graph, ins[1])
            if w is None or o["weights_format"] != 0:
                problems.append(f"{where}: non-constant or shuffled weights")
                continue
            if o["activation"] not in ("NONE", "RELU"):
                problems.append(f"{where}: fused activation {o['activation']}")
                continue
            if need_float(ins[0], ins[1]):
                bias = _const(graph, ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
                nodes.append(Node("fc", [ins[0]], out, {"relu": o["activation"] == "RELU"}, {
                    "weights": w.astype(np.float32),
                    "bias": (bias if bias is not None else np.zeros(w.shape[0])).astype(np.float32)},
                    where))
        elif op.type in FLOAT_ELEMENTWISE:
            a, b = ins
            if not need_float(a, b):
                continue
            ca, cb = _const(graph, a), _const(graph, b)
            if ca is not None and cb is not None:
                problems.append(f"{where}: both operands constant")
                continue
            x, c = (b, ca) if ca is not None else (a, cb)
            if c is None:
                shape_a, shape_b = _strip_batch(graph.tensor(a).shape), _strip_batch(graph.tensor(b).shape)
                if shape_a != shape_b:
                    problems.append(f"{where}: broadcasting two activations {shape_a} x {shape_b}")
                    continue
                nodes.append(Node(op.type.lower(), [a, b], out,
                                  {"relu": op.options.get("activation") == "RELU"}, {}, where))
                continue
            xshape = _strip_batch(graph.tensor(x).shape)
            c = np.asarray(c, np.float32).reshape(-1)
            last = xshape[-1] if xshape else 1
            if c.size not in (1, last):
                problems.append(f"{where}: constant of {c.size} values does not broadcast on "
                                f"the last axis of {xshape}")
                continue
            if x not in shapes:
                activation(x)
            nodes.append(Node(op.type.lower(), [x], out,
                              {"relu": op.options.get("activation") == "RELU"},
                              {"values": np.broadcast_to(c, (last,)).astype(np.float32).copy()},
                              where))
        elif op.type == "SOFTMAX":
            if need_float(*ins):
                nodes.append(Node("softmax", [ins[0]], out, {"beta": op.options["beta"]}, {}, where))
        elif op.type == "LceBconv2d":
            o = op.options
            w = _const(graph, ins[1])
            if w is None or graph.tensor(ins[1]).dtype != "int32":
                problems.append(f"{where}: filter must be a constant bit-packed int32 tensor")
                continue
            if graph.tensor(ins[0]).dtype != "int32":
                problems.append(f"{where}: float input (LCE bit-packs it first in converted models)")
                continue
            act = int(o.get("fused_activation_function", 0))
            if act not in LCE_CLAMPS:
                problems.append(f"{where}: fused activation {act}")
                continue
            out_bits = graph.tensor(op.outputs[0]).dtype == "int32"
            consts = {"weights": w.view(np.uint32)}
            if out_bits:
                consts["threshold"] = _const(graph, ins[4]).astype(np.int32)
            else:
                consts["multiplier"] = _const(graph, ins[2]).astype(np.float32)
                consts["bias"] = _const(graph, ins[3]).astype(np.float32)
            nodes.append(Node("bconv2d", [ins[0]], out, {
                "channels_in": int(o["channels_in"]), "out_channels": int(w.shape[0]),
                "kernel": (int(w.shape[1]), int(w.shape[2])),
                "stride": (int(o["stride_height"]), int(o["stride_width"])),
                "dilation": (int(o["dilation_height_factor"]), int(o["dilation_width_factor"])),
                "padding": "SAME" if _lce_padding(o["padding"]) == "SAME" else "VALID",
                "one_padding": int(o.get("pad_values", 0)) == 1, "clamp": LCE_CLAMPS[act],
                "output": "bits" if out_bits else "float"}, consts, where))
        elif op.type == "LceBMaxPool2d":
            o = op.options
            nodes.append(Node("bmaxpool", [ins[0]], out, {
                "filter": (int(o["filter_height"]), int(o["filter_width"])),
                "stride": (int(o["stride_height"]), int(o["stride_width"])),
                "padding": _lce_padding(o["padding"])}, {}, where))
        elif op.type == "LceQuantize":
            if need_float(ins[0]):
                nodes.append(Node("quantize", [ins[0]], out, {}, {}, where))
        elif op.type == "LceDequantize":
            nodes.append(Node("dequantize", [ins[0]], out, {}, {}, where))
        else:
            problems.append(f"{where}: op {op.type} is not supported")
    if problems:
        raise BnnkitError(f"{source}: unsupported: " + "; ".join(problems))
    return Lowered(nodes, shapes, kinds, graph.inputs[0], graph.outputs[0], names)


def _find_threshold_encodings(graph: Graph) -> dict:
    """``CAST(LOGICAL_AND(GREATER_EQUAL(x, lo), LESS(x, hi)))`` to float32: the
    :class:`bnnkit.layers.ThresholdEncoding` layer as LCE converts it. Returns
    {index of the CAST: {input, lower, upper, ops}}."""
    producer = {t: op for op in graph.ops for t in op.outputs}
    found = {}
    for cast in graph.ops:
        if cast.type != "CAST" or graph.tensor(cast.outputs[0]).dtype != "float32":
            continue
        land = producer.get(cast.inputs[0])
        if land is None or land.type != "LOGICAL_AND":
            continue
        parts = {producer[t].type: producer[t] for t in land.inputs if t in producer}
        ge, lt = parts.get("GREATER_EQUAL"), parts.get("LESS")
        if ge is None or lt is None or ge.inputs[0] != lt.inputs[0]:
            continue
        lo, hi = _const(graph, ge.inputs[1]), _const(graph, lt.inputs[1])
        if lo is None or hi is None or lo.shape != hi.shape:
            continue
        found[cast.index] = {"input": ge.inputs[0], "lower": lo.astype(np.float32).reshape(-1),
                             "upper": hi.astype(np.float32).reshape(-1),
                             "ops": {ge.index, lt.index, land.index}}
    return found


# ------------------------------------------------------------------ helpers

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# LCE's fused_activation_function enum -> clamp of the +-1 dot product
LCE_CLAMPS = {0: (INT32_MIN, INT32_MAX), 1: (0, INT32_MAX), 2: (-1, 1), 3: (0, 6)}


def _lce_padding(value) -> str:
    """LCE stores padding as TFLite's enum (0 SAME, 1 VALID) or as a string."""
    if isinstance(value, str):
        return value.upper()
    return {0: "SAME", 1: "VALID"}.get(int(value), "?")


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
        if fused_all and len(fcs) == len(users):
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
    Returns (thr int32[n_out], flip bool[n_out]).
    """
    pcs = np.arange(n_in + 1)
    dots = (n_in - 2 * pcs).astype(np.float32)
    thr = np.empty(len(scale), np.int32)
    flip = np.zeros(len(scale), bool)
    for j, (c, b) in enumerate(zip(scale, bias)):
        v = (dots * np.float32(c)).astype(np.float32)
        v = (v + np.float32(b)).astype(np.float32)
        if relu:
            v = np.maximum(v, np.float32(0))
        v = _apply_chain(v, chain, j)
        neg = v < 0  # LCE's quantize: bit 1 where x < 0
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


def fuse_threshold(low: Lowered) -> Lowered:
    nodes = low.nodes
    for bd in [n for n in nodes if n.kind == "binary_dense" and n.params["output"] == "float"]:
        chain, quant = _affine_chain(nodes, bd.outputs[0])
        if quant is None:
            continue
        thr, flip = derive_thresholds(bd.params["n_in"], bd.consts["scale"], bd.consts["bias"],
                                      bd.params.get("relu", False), chain)
        bd.params["output"] = "bits"
        bd.params["flip"] = bool(flip.any())
        bd.consts = {"weights": bd.consts["weights"], "threshold": thr}
        if flip.any():
            bd.consts["flip"] = pack_bits(flip)
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


# ------------------------------------------------------------------ pass 5

def fuse_conv_pool(low: Lowered) -> Lowered:
    nodes = low.nodes
    for conv in [n for n in nodes if n.kind == "conv2d"]:
        users = _consumers(nodes, conv.outputs[0])
        if len(users) != 1 or users[0].kind != "maxpool":
            continue
        pool = users[0]
        if (pool.params["padding"] != "VALID" or pool.params["filter"] != pool.params["stride"]
                or pool.params["relu"]):
            continue
        conv.params["pool"] = pool.params["filter"]
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
    """A threshold encoding read only by a float conv is kept as bit-planes (one
    bit per pixel and channel) and the conv adds weights where bits are set."""
    for enc in [n for n in low.nodes if n.kind == "threshold_encode"]:
        users = _consumers(low.nodes, enc.outputs[0])
        if len(users) != 1 or users[0].kind != "conv2d":
            continue
        out = enc.outputs[0]
        h, w, c = low.shapes[out]
        enc.params["planes"] = True
        users[0].params["planes"] = True
        low.shapes[out] = (c, words(h * w))
        low.kinds[out] = "bits"
    return low


PASSES = (fuse_binary_dense, fuse_threshold, fuse_affine_sign, fuse_conv_pool, fuse_encode_conv,
          alias_reshapes)


def lower(graph: Graph, source: str = "model") -> Lowered:
    low = to_nodes(graph, source)
    for p in PASSES:
        low = p(low)
    leftovers = sorted({n.name for n in low.nodes if n.kind == "quantize"
                        and low.kinds.get(n.inputs[0]) != "f32"})
    if leftovers:
        raise BnnkitError(f"{source}: unsupported: " + "; ".join(leftovers))
    return low
