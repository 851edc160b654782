"""Graph lowering: TFLite/LCE ops -> bnnkit kernel nodes.

``lower(graph)`` checks the dataflow, folds constants (:mod:`bnnkit.fold`),
makes one node per TFLite op (:func:`to_nodes`: unsupported ops are collected
and reported all at once), then runs the fusion passes of :mod:`bnnkit.passes`
in order (each named, each can be disabled, the nodes can be dumped after each).

Bit convention (LCE's): bit 1 means -1, bit 0 means +1 (sign(0) = +1); bit i
of 32-bit word k holds channel 32k+i; padding bits are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BnnkitError
from .graph import Graph
from .ops import Node, kind_for
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
    reference: str = "lce"  # whose int8 arithmetic the kernels reproduce (choose_reference)


REFERENCES = {
    "tflite": "TFLite's reference kernels (BUILTIN_REF: what TFLite Micro and CMSIS-NN compute)",
    "lce": "LCE's interpreter (TFLite's optimized x86 kernels)",
}
REFERENCE_SHORT = {"tflite": "TFLite reference", "lce": "LCE"}  # in one-line outputs


def choose_reference(graph: Graph, forced: str | None = None, source: str = "model") -> str:
    """Whose int8 arithmetic bnnkit reproduces: "tflite" (TFLite's reference
    kernels, which TFLite Micro and CMSIS-NN implement) for a model without LCE
    ops that computes in int8, else "lce" (LCE's interpreter, the only runtime
    of its ops). ``forced`` overrides the rule; a model with LCE ops has no
    TFLite reference. Float kernels have one arithmetic either way.

    Example:
        >>> from bnnkit.tflite_reader import read_tflite
        >>> choose_reference(read_tflite("models/lenet_float_int8.tflite"))  # doctest: +SKIP
        'tflite'
    """
    lce_ops = sorted({op.type for op in graph.ops if op.custom})
    if forced is not None:
        if forced not in REFERENCES:
            raise BnnkitError(f"--reference {forced}: choose {' or '.join(REFERENCES)}")
        if forced == "tflite" and lce_ops:
            raise BnnkitError(f"{source}: --reference tflite: TFLite has no kernels for "
                              f"{', '.join(lce_ops)}; LCE's interpreter is their reference")
        return forced
    if lce_ops:
        return "lce"
    int8 = any(t.dtype == "int8" and not t.is_constant for t in graph.tensors)
    return "tflite" if int8 else "lce"


# ------------------------------------------------------------------ pass 1

def _const(graph: Graph, idx: int):
    return None if idx < 0 else graph.tensor(idx).data


class LowerContext:
    """What an op kind's ``lower`` sees of the graph while one op is lowered:
    the op's description for messages, constants, and the activation tables."""

    def __init__(self, graph: Graph, reference: str = "lce"):
        self.graph = graph
        self.reference = reference  # "tflite" or "lce": whose int8 roundings (REFERENCES)
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


def to_nodes(graph: Graph, source: str = "model", reference: str = "lce") -> Lowered:
    """One node per op, each lowered by its op kind (:mod:`bnnkit.ops`), on a
    graph :func:`check_dataflow` accepted, for ``reference``'s arithmetic.
    Everything unsupported is gathered into one error."""
    ctx = LowerContext(graph, reference)
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
                   ctx.quant, reference)


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


def lower(graph: Graph, source: str = "model", disabled=(), dump=None,
          reference: str | None = None) -> Lowered:
    """The network as kernel nodes: the dataflow checked (:func:`check_dataflow`),
    constants folded (:mod:`bnnkit.fold`), one node per op (:func:`to_nodes`)
    with the int8 arithmetic of :func:`choose_reference` (``reference`` forces
    it), then the fusion passes (:func:`bnnkit.passes.run_passes`; ``disabled``:
    pass names to skip, ``dump(name, low)``: called after each)."""
    from .fold import fold_constants
    from .passes import run_passes

    check_dataflow(graph, source)
    low = to_nodes(fold_constants(graph), source, choose_reference(graph, reference, source))
    low = run_passes(low, disabled, dump)
    leftovers = sorted({n.name for n in low.nodes if n.kind == "quantize"
                        and low.kinds.get(n.inputs[0]) != "f32"})
    if leftovers:
        raise BnnkitError(f"{source}: unsupported: " + "; ".join(leftovers))
    return low
