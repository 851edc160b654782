"""SPLIT and SPLIT_V (bnn_split.c): one float32 tensor into several along a
constant axis. Copies only, so bit-exact by construction.

- SPLIT: input 0 is the axis, input 1 the data, ``num_splits`` equal parts.
- SPLIT_V: input 0 the data, input 1 the constant sizes (one may be -1: the
  rest), input 2 the axis.
- The axis counts the flatbuffer's dimensions, batch included (negative axes
  count from the end); the node keeps it in that full rank (``params["rank"]``).
- The node has several outputs, one buffer each; the arena planner gives every
  output its own lifetime (written by this step, alive until its last reader),
  so outputs consumed much later stay intact.

:meth:`Split.output_shape` gives a list of shapes, one per output (lowering
checks each against the flatbuffer); :meth:`Split.reference` returns a list,
one array per output.

Example:
    >>> from types import SimpleNamespace
    >>> from bnnkit.ops import Node
    >>> n = Node("split", [0], [1, 2], {"axis": -1 % 4, "rank": 4, "sizes": [3, 5]})
    >>> Split().output_shapes(n, SimpleNamespace(shapes={0: (4, 4, 8)}))
    [(4, 4, 3), (4, 4, 5)]
"""

from __future__ import annotations

import numpy as np

from ._datamove import check_output, const_ints, full_shape, normalize_axis, strip_batch
from .base import OpKind, prod, register


@register
class Split(OpKind):
    kind = "split"
    tflite = ("SPLIT", "SPLIT_V")
    files = ("bnn_split.c",)

    def lower(self, ctx, op):
        ins = op.inputs
        if len(ins) != (2 if op.type == "SPLIT" else 3) or not op.outputs:
            return ctx.problem(f"{len(ins)} inputs and {len(op.outputs)} outputs")
        x, axis_t = (ins[1], ins[0]) if op.type == "SPLIT" else (ins[0], ins[2])
        if x < 0 or ctx.const(x) is not None:
            return ctx.problem("the data must be an activation (a constant split is folded "
                               "by the converter)")
        if not ctx.need_float(x, *op.outputs):
            return None
        axis = const_ints(ctx, axis_t, "the axis")
        if axis is None:
            return None
        if axis.size != 1:
            return ctx.problem(f"an axis of {axis.size} values")
        shape = tuple(int(s) for s in ctx.graph.tensor(x).shape)
        rank = len(shape)
        ax = normalize_axis(int(axis.reshape(-1)[0]), rank)
        if ax is None:
            return ctx.problem(f"axis {int(axis.reshape(-1)[0])} of a rank-{rank} tensor")
        n_out, dim = len(op.outputs), shape[ax]
        if op.type == "SPLIT":
            num = int(op.options.get("num_splits", n_out))
            if num != n_out or dim % num:
                return ctx.problem(f"{num} splits ({n_out} outputs) of a dimension of {dim}")
            sizes = [dim // num] * num
        else:
            sizes = const_ints(ctx, ins[1], "size_splits")
            if sizes is None:
                return None
            sizes = [int(s) for s in sizes.reshape(-1)]
            if len(sizes) != n_out:
                return ctx.problem(f"{len(sizes)} sizes for {n_out} outputs")
            if sizes.count(-1) == 1:
                sizes[sizes.index(-1)] = dim - sum(s for s in sizes if s != -1)
            if any(s < 0 for s in sizes) or sum(sizes) != dim:
                return ctx.problem(f"sizes {sizes} do not split a dimension of {dim}")
        if any(s == 0 for s in sizes):
            return ctx.problem(f"an empty output (sizes {sizes})")
        for t, s in zip(op.outputs, sizes):
            expected = list(shape)
            expected[ax] = s
            if not check_output(ctx, t, expected):
                return None
        ctx.activation(x)
        return ctx.node(self.kind, [x], {"axis": ax, "rank": rank, "sizes": sizes})

    # ------------------------------------------------------------ shapes
    def output_shapes(self, n, low):
        shape = full_shape(low.shapes[n.inputs[0]], n.params["rank"])
        out = []
        for s in n.params["sizes"]:
            o = list(shape)
            o[n.params["axis"]] = s
            out.append(strip_batch(o))
        return out

    def output_shape(self, n, low):
        """Every output's shape (a list, one per output)."""
        extent = full_shape(low.shapes[n.inputs[0]], n.params["rank"])[n.params["axis"]]
        if sum(n.params["sizes"]) != extent:
            raise ValueError(f"sizes {n.params['sizes']} do not split an extent of {extent}")
        return self.output_shapes(n, low)

    def layout(self, n, low):
        """(outer, chunks) as bnn_split_f32 takes them (see bnn_split.h)."""
        shape = full_shape(low.shapes[n.inputs[0]], n.params["rank"])
        axis = n.params["axis"]
        inner = prod(shape[axis + 1:])
        return prod(shape[:axis]), [s * inner for s in n.params["sizes"]]

    # ------------------------------------------------------------ C
    def emit(self, b, i, n):
        outer, chunks = self.layout(n, b.low)
        cname = f"split_chunks{i:02d}"
        b.param(f"static const int32_t {cname}[{len(chunks)}] = "
                f"{{{', '.join(map(str, chunks))}}};")
        k = len(n.outputs)
        outs = ", ".join(b.buf(t) for t in n.outputs)
        return [f"{{ float *const outs[{k}] = {{{outs}}}; bnn_split_f32({b.buf(n.inputs[0])}, "
                f"{outer}, {cname}, {k}, outs); }}"]

    def reference(self, n, inputs, low):
        x = np.asarray(inputs[0], np.float32).reshape(
            full_shape(low.shapes[n.inputs[0]], n.params["rank"]))
        cuts = np.cumsum(n.params["sizes"])[:-1]
        parts = np.split(x, cuts, axis=n.params["axis"])
        return [p.reshape(s) for p, s in zip(parts, self.output_shapes(n, low))]
