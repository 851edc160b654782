"""Fusion passes over the lowered nodes, run by a small pass manager.

:func:`bnnkit.lower.to_nodes` makes one node per TFLite op; these passes then
rewrite the node list in order. Each is named, can be disabled
(``gen-firmware --disable-pass NAME``), and can be watched: ``run_passes(low,
dump=...)`` is called after each with its name and the nodes
(``bnnkit inspect MODEL.tflite --passes`` prints them). :func:`execute` runs a
lowered network in numpy, each node by its op kind's ``reference``, so a pass
is checked as FINN checks its transformations: the same random inputs give
the same outputs before and after it (``tests/test_passes.py``).

Example:
    >>> [p.name for p in PASSES][:3]
    ['fuse_binary_dense', 'fuse_threshold', 'fuse_affine_sign']
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import BnnkitError
from .aliases import alias_reshapes
from .binary import fuse_affine_sign, fuse_binary_dense, fuse_dequantize_sign, fuse_threshold
from .encoding import fuse_encode_conv
from .pools import fuse_bconv_pool, fuse_conv_pool
from .residual import fuse_residual_add


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable  # Lowered -> Lowered (may rewrite the nodes it is given)
    summary: str


PASSES = (
    Pass("fuse_binary_dense", fuse_binary_dense,
         "LceQuantize -> LceDequantize -> FULLY_CONNECTED with +-c_j rows: a 1-bit dense layer"),
    Pass("fuse_threshold", fuse_threshold,
         "binary dense -> [MUL/ADD]* -> LceQuantize: integer popcount thresholds"),
    Pass("fuse_affine_sign", fuse_affine_sign,
         "[MUL][ADD] by constants -> LceQuantize: one float sign test per value"),
    Pass("fuse_dequantize_sign", fuse_dequantize_sign,
         "int8 DEQUANTIZE -> [MUL][ADD] -> LceQuantize: int8 thresholds"),
    Pass("fuse_conv_pool", fuse_conv_pool,
         "CONV_2D -> MAX_POOL_2D (non-overlapping): pooled outputs computed directly"),
    Pass("fuse_bconv_pool", fuse_bconv_pool,
         "LceBconv2d -> MAX_POOL_2D / LceBMaxPool2d (non-overlapping): likewise"),
    Pass("fuse_residual_add", fuse_residual_add,
         "LceBconv2d or int8 CONV_2D -> ADD(skip, .): the conv adds the skip as it writes"),
    Pass("fuse_encode_conv", fuse_encode_conv,
         "threshold encoding -> CONV_2D: interval indices or bit-planes"),
    Pass("alias_reshapes", alias_reshapes, "RESHAPE shares its input's memory"),
)
PASS_NAMES = tuple(p.name for p in PASSES)


def run_passes(low, disabled=(), dump=None):
    """Run every pass not named in ``disabled``, in order; ``dump(name, low)``
    after each (``name`` "to_nodes" first, for the graph before any).

    Example:
        >>> run_passes(low, disabled=["fuse_conv_pool"])  # doctest: +SKIP
    """
    unknown = sorted(set(disabled) - set(PASS_NAMES))
    if unknown:
        raise BnnkitError(f"unknown pass {unknown[0]} (choose from {', '.join(PASS_NAMES)})")
    if dump is not None:
        dump("to_nodes", low)
    for p in PASSES:
        if p.name in disabled:
            continue
        low = p.run(low)
        if dump is not None:
            dump(p.name, low)
    return low


def apply_pass(name: str, low):
    """One pass on a deep copy of ``low`` (the original is left as it was).

    Example:
        >>> after = apply_pass("fuse_conv_pool", before)  # doctest: +SKIP
    """
    (p,) = [p for p in PASSES if p.name == name]
    return p.run(copy.deepcopy(low))


def execute(low, x: np.ndarray) -> np.ndarray:
    """Run the lowered network ``low`` on one input ``x`` (the model's input
    tensor, float32 or int8, any shape with its element count) in numpy, each
    node by its op kind's ``reference``: what the generated C computes.

    Example:
        >>> y = execute(lower(read_tflite("m.tflite")), x)  # doctest: +SKIP
    """
    from ..ops import op_kind

    values = {low.input: np.asarray(x).reshape(low.shapes[low.input])}
    for n in low.nodes:
        out = op_kind(n.kind).reference(n, [values[t] for t in n.inputs], low)
        outs = out if len(n.outputs) > 1 else [out]
        for t, v in zip(n.outputs, outs):
            values[t] = np.asarray(v)
    return values[low.output]


def format_nodes(low) -> str:
    """The lowered nodes, one line each: step, kind, tensors, name.

    Example:
        >>> print(format_nodes(low))  # doctest: +SKIP
          0 conv2d        t0 -> t3       sequential/conv2d/Relu
    """
    rows = []
    for i, n in enumerate(low.nodes):
        ins = ",".join(f"t{t}" for t in n.inputs)
        outs = ",".join(f"t{t}" for t in n.outputs)
        # what the passes mark on a node without changing its kind
        marks = [k for k in ("pool", "alias", "index_map", "planes", "residual_act",
                             "residual_add") if n.params.get(k)]
        mark = f" [{', '.join(marks)}]" if marks else ""
        rows.append(f"{i:3d} {n.kind + mark:<22} {ins + ' -> ' + outs:<18} {n.name}")
    return "\n".join(rows)
