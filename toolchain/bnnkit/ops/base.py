"""What every op kind provides, and the registry that finds them.

An op kind is one class in one module of this package. It says:

- ``tflite``: the TFLite op names (builtin or LCE custom) it lowers;
- :meth:`OpKind.lower`: how such an op is recognised and validated, returning a
  :class:`Node` (or ``None`` after calling ``ctx.problem`` with what it cannot do);
- :meth:`OpKind.output_shape`: the output shape it computes from its inputs, checked
  against the flatbuffer's claim so that no shape read from a file sizes a buffer
  the kernel then overruns;
- :meth:`OpKind.emit`: the C statements of one call, with :meth:`kernel_files`;
- :meth:`OpKind.cost`: MACs, binary ops and constant bytes (the analyze report);
- :meth:`OpKind.in_place_inputs`: which inputs the kernel may write its output
  over (the planner lets it when that input dies at this step);
- :meth:`OpKind.reference`: numpy of exactly what the C computes.

Example (a new op kind, complete)::

    @register
    class Abs(OpKind):
        kind = "abs"
        tflite = ("ABS",)
        files = ("bnn_abs_f32.c",)

        def lower(self, ctx, op):
            return ctx.node(self.kind, op) if ctx.need_float(op) else None

        def emit(self, b, i, node):
            return [f"bnn_abs_f32({b.buf(node.inputs[0])}, {b.size(node.outputs[0])}, "
                    f"{b.buf(node.outputs[0])});"]

        def reference(self, node, inputs, low):
            return np.abs(inputs[0])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BnnkitError


@dataclass
class Node:
    """One kernel call of the lowered network."""

    kind: str  # an OpKind.kind
    inputs: list  # activation tensor ids
    outputs: list
    params: dict = field(default_factory=dict)
    consts: dict = field(default_factory=dict)  # name -> np.ndarray
    name: str = ""


@dataclass
class Cost:
    """What one node costs: multiply-accumulates (float or int8), binary
    operations (XOR+popcount per +-1 product) and bytes of constants."""

    macs: int = 0
    bops: int = 0
    const_bytes: int = 0


def prod(shape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


class OpKind:
    kind: str = ""
    dtype: str = "float32"  # what it computes on: "int8" kinds serve ops on int8 inputs
    kinds: tuple = ()  # more node kinds served by the same class (e.g. mul and add)
    tflite: tuple = ()
    files: tuple = ()  # kernel .c files under runtime/kernels

    def lower(self, ctx, op):
        """Recognise one TFLite op; return a Node, or None after ``ctx.problem``."""
        ctx.problem(f"op {op.type} is not supported")
        return None

    def output_shape(self, node, low):
        """The output shape (or list of shapes) this node computes from its inputs'
        shapes; lowering refuses a file whose stored shape differs. Every op kind
        that lowers a TFLite op must say: buffers are sized by these shapes."""
        raise NotImplementedError(f"{self.kind}: no output shape inference")

    def prepare(self, node, low, target) -> None:
        """Per-target choices about how ``node`` is stored and run (a constant
        layout, a kernel variant), made once before the arena is planned and the
        C emitted and recorded in ``node.params``: ``scratch_bytes``, ``emit`` and
        ``cost`` only read them (TFLite Micro's Prepare). Default: none."""

    def kernel_files(self, node) -> list:
        return list(self.files)

    def scratch_bytes(self, b, node) -> int:
        """Bytes of arena scratch the call needs while it runs (0: none)."""
        return 0

    def emit(self, b, i, node) -> list:
        raise NotImplementedError(self.kind)

    def in_place_inputs(self, node, low) -> tuple:
        """Positions of the inputs whose memory the output may take over: the
        kernel reads every element it needs from there before it writes the
        bytes at or below it (an elementwise op writing index i after reading
        index i). The planner uses one only where that input dies at this
        step; :func:`bnnkit.memory.check_in_place` proves it. Default: none.

        Example:
            >>> op_kind("quantize").in_place_inputs(Node("quantize", [0], [1]), None)
            (0,)
        """
        return ()

    def cost(self, node, low) -> Cost:
        return Cost(const_bytes=sum(int(np.asarray(v).size) * 4 for v in node.consts.values()))

    def reference(self, node, inputs, low):
        """numpy: the node's output from its input arrays, as the C computes it."""
        raise NotImplementedError(self.kind)

    def lce_depends_on_cpu(self, node) -> bool:
        """Whether LCE's interpreter computes this node with arithmetic that
        depends on the x86 CPU it runs on (XNNPACK and Eigen pick other vector
        kernels on AVX-512 than on AVX2). bnnkit's C keeps one arithmetic of its
        own everywhere (the AVX2 one, in portable C), so where this is True the
        tests bound the difference to LCE in ulps instead of asserting its bytes.

        Example:
            >>> op_kind("activation").lce_depends_on_cpu(Node("activation", [0], [1],
            ...                                                {"fn": "LOGISTIC"}))
            True
        """
        return False


def inputs_of_output_shape(node, low) -> tuple:
    """The in-place rule of an elementwise kernel: the positions of the inputs
    of the output's shape (read at the index written, before it is written).

    Example:
        >>> from types import SimpleNamespace
        >>> low = SimpleNamespace(shapes={0: (4, 8), 1: (8,), 2: (4, 8)})
        >>> inputs_of_output_shape(Node("add", [0, 1], [2]), low)
        (0,)
    """
    out = tuple(low.shapes[node.outputs[0]])
    return tuple(k for k, t in enumerate(node.inputs) if tuple(low.shapes[t]) == out)


REGISTRY: dict = {}  # node kind -> OpKind instance
BY_TFLITE: dict = {}  # TFLite op name -> OpKind instance (float and binary)
BY_TFLITE_INT8: dict = {}  # TFLite op name -> OpKind instance for an int8 first input


def register(cls):
    """Class decorator: make an OpKind known by its kinds and TFLite names."""
    inst = cls()
    for k in (cls.kind, *cls.kinds):
        if k in REGISTRY:
            raise RuntimeError(f"op kind {k} registered twice")
        REGISTRY[k] = inst
    table = BY_TFLITE_INT8 if cls.dtype == "int8" else BY_TFLITE
    for name in cls.tflite:
        if name in table:
            raise RuntimeError(f"TFLite op {name} registered twice")
        table[name] = inst
    return cls


def kind_for(op_type: str, input_dtype: str):
    """The op kind that lowers ``op_type`` reading a first input of ``input_dtype``:
    the int8 kind for int8 inputs when there is one, else the float/binary kind
    (whose ``lower`` names what it does not accept). None: nothing lowers it.

    Example:
        >>> kind_for("CONV_2D", "int8").kind, kind_for("CONV_2D", "float32").kind
        ('conv2d_s8', 'conv2d')
    """
    if input_dtype == "int8" and op_type in BY_TFLITE_INT8:
        return BY_TFLITE_INT8[op_type]
    return BY_TFLITE.get(op_type, BY_TFLITE_INT8.get(op_type))


def op_kind(kind: str) -> OpKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise BnnkitError(f"internal: no op kind {kind!r}") from None
