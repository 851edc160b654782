"""A small typed graph: what bnnkit reads from a flatbuffer and lowers to C.

Example:
    >>> from bnnkit.tflite_reader import read_tflite
    >>> g = read_tflite("models/lenet_bin3.tflite")          # doctest: +SKIP
    >>> [op.type for op in g.ops][:3]                        # doctest: +SKIP
    ['CONV_2D', 'MAX_POOL_2D', 'CONV_2D']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    dtype: str  # numpy-style name: float32, int32, int8, ...
    data: np.ndarray | None = None  # constant data, shaped, or None for activations
    # TFLite affine quantization (real = scale * (q - zero_point)); None if absent.
    # Per-axis parameters (a conv's weights) hold one entry per index of ``quant_axis``.
    scale: np.ndarray | None = None  # float32
    zero_point: np.ndarray | None = None  # int64
    quant_axis: int = 0

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return 0 if self.data is None else int(self.data.nbytes)


@dataclass
class Op:
    index: int
    type: str  # builtin name (CONV_2D) or custom code (LceQuantize)
    inputs: list  # tensor indices, -1 for an omitted optional input
    outputs: list
    options: dict = field(default_factory=dict)
    custom: bool = False


@dataclass
class Graph:
    tensors: list
    ops: list
    inputs: list
    outputs: list
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producers(self) -> dict:
        """tensor index -> op that writes it."""
        return {t: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict:
        """tensor index -> list of ops that read it."""
        out: dict = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op)
        return out

    def op_counts(self) -> Counter:
        return Counter(op.type for op in self.ops)

    def constant_bytes_by_dtype(self) -> dict:
        counts: Counter = Counter()
        for t in self.tensors:
            if t.is_constant:
                counts[t.dtype] += t.nbytes
        return dict(counts)
