"""Constant folding: ops whose inputs are all constants are computed at generation
time, so their results become constant model data.

LCE leaves such chains where Larq computes weights from weights: XNORNet's scaled
binary kernels are ``sign(w) * mean(|clip(w)|)`` evaluated on every inference
(RELU_N1_TO_1, ABS, MEAN, LceQuantize, LceDequantize, MUL, TRANSPOSE), which the
device would otherwise run, on the whole weight tensor, once per input. Each
evaluator here does the float32 arithmetic LCE's interpreter does at run time: one
rounding per elementwise operation; MEAN sums in memory order from 0, then divides
by the count (TFLite's reference Mean, which LCE's interpreter runs).

Example:
    >>> from bnnkit.graph import Graph, Op, Tensor
    >>> w = Tensor(0, "w", (2,), "float32", np.float32([-3.0, 0.5]))
    >>> ops = [Op(0, "ABS", [0], [1]), Op(1, "NEG", [1], [2])]
    >>> g = Graph([w, Tensor(1, "a", (2,), "float32"), Tensor(2, "b", (2,), "float32")], ops,
    ...           [], [2])
    >>> fold_constants(g).tensor(1).data.tolist()
    [3.0, 0.5]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .graph import Graph


def _binary(fn):
    def run(op, a, b):
        return fn(a.astype(np.float32), b.astype(np.float32)).astype(np.float32)
    return run


def _mean(op, x, axes):
    axes = sorted({int(a) % x.ndim for a in np.asarray(axes).reshape(-1)})
    keep = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x.astype(np.float32), keep + axes)
    rows = moved.reshape(int(np.prod([x.shape[d] for d in keep], dtype=np.int64)), -1)
    total = np.zeros(rows.shape[0], np.float32)
    for j in range(rows.shape[1]):  # in memory order, one rounding per add
        total = (total + rows[:, j]).astype(np.float32)
    out = (total / np.float32(rows.shape[1])).astype(np.float32)
    shape = [1 if d in axes else x.shape[d] for d in range(x.ndim)]
    return out.reshape(shape if op.options.get("keep_dims") else [x.shape[d] for d in keep])


EVALUATORS = {
    "ABS": lambda op, x: np.abs(x),
    "NEG": lambda op, x: -x,
    "RELU": lambda op, x: np.maximum(x, np.float32(0)),
    "RELU6": lambda op, x: np.clip(x, np.float32(0), np.float32(6)),
    "RELU_N1_TO_1": lambda op, x: np.clip(x, np.float32(-1), np.float32(1)),
    "MUL": _binary(np.multiply),
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "DIV": _binary(np.divide),
    "MAXIMUM": _binary(np.maximum),
    "MINIMUM": _binary(np.minimum),
    "MEAN": _mean,
    "TRANSPOSE": lambda op, x, perm: np.transpose(x, [int(p) for p in perm]),
    "FILL": lambda op, dims, value: np.full([int(d) for d in dims], value, np.float32),
    "RESHAPE": None,  # handled below: the output tensor's shape
    # LceQuantize/LceDequantize of a constant: the sign as +-1 (x < 0 -> -1)
    "LceQuantize": lambda op, x: np.where(x < 0, np.float32(-1), np.float32(1)),
    "LceDequantize": lambda op, x: x,
}


def fold_constants(graph: Graph) -> Graph:
    """A copy of ``graph`` in which every op whose inputs are all constant, and
    whose type has an evaluator, is gone and its output is constant data.
    LceQuantize results are kept as +-1 floats; they only feed LceDequantize."""
    tensors = list(graph.tensors)
    readers = graph.consumers()
    ops = []
    for op in graph.ops:
        ins = [i for i in op.inputs if i >= 0]
        sign_only = op.type == "LceQuantize" and not all(
            r.type == "LceDequantize" for r in readers.get(op.outputs[0], [None]) if r)
        if (op.type not in EVALUATORS or len(op.outputs) != 1 or not ins or sign_only
                or not readers.get(op.outputs[0])
                or any(tensors[i].data is None for i in ins)
                or any(tensors[i].dtype not in ("float32", "int32") for i in ins)
                or op.outputs[0] in graph.outputs):
            ops.append(op)
            continue
        out = tensors[op.outputs[0]]
        values = [tensors[i].data for i in ins]
        try:
            if op.type == "RESHAPE":
                result = values[0].reshape(out.shape)
            else:
                result = EVALUATORS[op.type](op, *values)
            result = np.asarray(result)
            if op.type != "LceQuantize":
                result = result.reshape(out.shape)
        except (ValueError, TypeError, IndexError):
            ops.append(op)  # not foldable as the file describes it: lowering says why
            continue
        tensors[op.outputs[0]] = dataclasses.replace(out, data=result.astype(np.float32),
                                                     dtype="float32")
    if len(ops) == len(graph.ops):
        return graph
    return dataclasses.replace(graph, tensors=tensors, ops=ops)
