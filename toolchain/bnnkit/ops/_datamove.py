"""Shape helpers of the data-movement op kinds (concatenation, split, pad,
transpose). (Helpers, not an op.)

Lowered shapes drop a leading batch dimension of 1 (``strip_batch``); these ops
take their axes, paddings and permutations in the flatbuffer's full rank, so
they put the batch back before they count dimensions.

Example:
    >>> full_shape((4, 4, 8), 4), full_shape((2, 3), 2)
    ((1, 4, 4, 8), (2, 3))
    >>> outer_inner((1, 4, 4, 8), 3)
    (16, 1)
"""

from __future__ import annotations

import numpy as np

from .base import prod
from .elementwise import strip_batch


def full_shape(shape, rank: int) -> tuple:
    """A lowered shape back in ``rank`` dimensions (leading 1s restored)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) > rank:
        raise ValueError(f"shape {shape} has more than {rank} dimensions")
    return (1,) * (rank - len(shape)) + shape


def outer_inner(shape, axis: int) -> tuple:
    """(product of the dimensions before ``axis``, product of those after it)."""
    return prod(shape[:axis]), prod(shape[axis + 1:])


def normalize_axis(axis: int, rank: int):
    """``axis`` in [0, rank) (negative counts from the end), or None if out of range."""
    axis = int(axis)
    if axis < 0:
        axis += rank
    return axis if 0 <= axis < rank else None


def const_ints(ctx, idx: int, what: str):
    """The integer constant ``idx`` as an int64 array, or None after ``ctx.problem``."""
    data = ctx.const(idx) if idx >= 0 else None
    if data is None:
        return ctx.problem(f"{what} must be a constant tensor")
    if ctx.graph.tensor(idx).dtype not in ("int32", "int64"):
        return ctx.problem(f"{what} is {ctx.graph.tensor(idx).dtype} (int32 needed)")
    return np.asarray(data).astype(np.int64)


def check_output(ctx, out: int, expected) -> bool:
    """The flatbuffer's shape of ``out`` agrees with what the inputs give; else
    a problem is recorded and False returned."""
    claimed = tuple(int(s) for s in ctx.graph.tensor(out).shape)
    if claimed != tuple(expected):
        ctx.problem(f"the flatbuffer says output {ctx.graph.tensor(out).name} has shape "
                    f"{claimed} but the inputs give {tuple(expected)}")
        return False
    return True


def pad4(shape) -> tuple:
    """A shape of rank <= 4 as 4 dimensions (leading 1s)."""
    return full_shape(shape, 4)


__all__ = ["check_output", "const_ints", "full_shape", "normalize_axis", "outer_inner", "pad4",
           "strip_batch"]


def float_activation_shape(ctx, op, x: int):
    """The full-rank shape of tensor ``x``, which must be a float32 activation of
    rank 1 to 4 (as the op's output must be float32); None after ``ctx.problem``."""
    if x < 0 or ctx.const(x) is not None:
        return ctx.problem("the data must be an activation")
    if not ctx.need_float(x, *op.outputs):
        return None
    shape = tuple(int(s) for s in ctx.graph.tensor(x).shape)
    if not 1 <= len(shape) <= 4:
        return ctx.problem(f"a rank-{len(shape)} tensor (1 to 4 dimensions)")
    return shape
