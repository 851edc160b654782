"""CONCATENATION (bnn_concat.c): any number of inputs along any axis, float32,
or LCE's bit-packed int32 words. Copies only, so bit-exact by construction.

- The axis counts the flatbuffer's dimensions, batch included (negative axes
  count from the end); the node keeps it in that full rank (``params["rank"]``)
  and puts the batch dimension back on lowered shapes before counting.
- A constant input becomes a constant array of model_data.c; the node's
  ``inputs`` hold only the activations, ``params["order"]`` says where each of
  the op's inputs comes from (an index into ``inputs`` or a key of ``consts``).
- Fused activation NONE or RELU (values below 0 become 0; -0.0 and NaN kept).
  TFLite's own kernel refuses any fused activation in ``Prepare``
  (``TF_LITE_ENSURE_EQ(params->activation, kTfLiteActNone)``): LCE's
  interpreter fails to prepare a RELU-fused concatenation, and the converter
  never writes one. bnnkit computes what the schema says; the kernel test
  checks it against LCE's plain concatenation followed by max(x, 0).
- Bit-packed inputs (int32 words, LCE's packing): along any axis but the last
  a word copy is exact. Along the last axis words are concatenated, which is a
  concatenation of channels only when every input fills its words: each
  input's channel count (known from the op that packs it: LceQuantize,
  LceBconv2d with bit output, LceBMaxPool2d, or another such concatenation)
  must be a multiple of 32, else the op is refused.

Example:
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from bnnkit.ops import Node
    >>> low = SimpleNamespace(shapes={0: (2, 2, 1), 1: (2, 2, 3)})
    >>> n = Node("concat", [0], [1], {"axis": 3, "rank": 4, "relu": False, "bits": False,
    ...                               "order": [0, "c1"]},
    ...          {"c1": np.ones((1, 2, 2, 2), np.float32)})
    >>> Concatenation().output_shape(n, low)
    (2, 2, 3)
"""

from __future__ import annotations

import numpy as np

from ._datamove import check_output, full_shape, normalize_axis, strip_batch
from .base import OpKind, prod, register


def bit_channels(ctx, t: int, depth: int = 0):
    """Channels packed into the bit tensor ``t`` (None if its producer does not say)."""
    producer = ctx.graph.producers().get(t)
    if producer is None or depth > 64:
        return None
    if producer.type == "LceQuantize":
        shape = ctx.graph.tensor(producer.inputs[0]).shape
        return int(shape[-1]) if len(shape) else None
    if producer.type == "LceBconv2d":
        w = ctx.graph.tensor(producer.inputs[1])
        return int(w.shape[0]) if w.data is not None else None
    if producer.type == "LceBMaxPool2d":
        return bit_channels(ctx, producer.inputs[0], depth + 1)
    if producer.type == "CONCATENATION":
        rank = len(ctx.graph.tensor(t).shape)
        axis = normalize_axis(producer.options.get("axis", 0), rank)
        if axis is None:
            return None
        if axis != rank - 1:
            return bit_channels(ctx, producer.inputs[0], depth + 1)
        parts = [bit_channels(ctx, i, depth + 1) for i in producer.inputs]
        return None if any(p is None for p in parts) else sum(parts)
    return None


@register
class Concatenation(OpKind):
    kind = "concat"
    tflite = ("CONCATENATION",)
    files = ("bnn_concat.c",)

    def lower(self, ctx, op):
        act = op.options.get("activation", "NONE")
        if act not in ("NONE", "RELU"):
            return ctx.problem(f"fused activation {act}")
        ins = list(op.inputs)
        if not ins or any(i < 0 for i in ins) or len(op.outputs) != 1:
            return ctx.problem("needs one or more inputs and one output")
        tensors = [ctx.graph.tensor(i) for i in ins]
        out = ctx.graph.tensor(op.outputs[0])
        dtypes = sorted({t.dtype for t in tensors} | {out.dtype})
        if dtypes not in (["float32"], ["int32"]):
            return ctx.problem(f"tensors of types {', '.join(dtypes)} (float32, or bit-packed "
                               "int32 throughout)")
        bits = dtypes == ["int32"]
        shapes = [tuple(int(s) for s in t.shape) for t in tensors]
        rank = len(shapes[0])
        axis = normalize_axis(op.options.get("axis", 0), rank)
        if rank == 0 or axis is None:
            return ctx.problem(f"axis {op.options.get('axis')} of a rank-{rank} tensor")
        for t, s in zip(tensors, shapes):
            if len(s) != rank or any(a != b for d, (a, b) in enumerate(zip(s, shapes[0]))
                                     if d != axis):
                return ctx.problem(f"input {t.name} of shape {s} does not concatenate with "
                                   f"{shapes[0]} along axis {axis}")
        expected = list(shapes[0])
        expected[axis] = sum(s[axis] for s in shapes)
        if not check_output(ctx, op.outputs[0], expected):
            return None
        if bits and axis == rank - 1:
            for i, t in zip(ins, tensors):
                ch = bit_channels(ctx, i)
                if ch is None or ch % 32 or ch // 32 != t.shape[-1]:
                    have = "an unknown number of" if ch is None else str(ch)
                    return ctx.problem(
                        f"bit-packed input {t.name} has {have} channels: concatenating packed "
                        "words along channels needs every input's channel count to be a "
                        "multiple of 32")
        acts, order, consts = [], [], {}
        for k, (i, s) in enumerate(zip(ins, shapes)):
            c = ctx.const(i)
            if c is None:
                ctx.activation(i)
                if i not in acts:
                    acts.append(i)
                order.append(acts.index(i))
            else:
                arr = np.asarray(c).reshape(s)
                consts[f"c{k}"] = arr.view(np.uint32) if bits else arr.astype(np.float32)
                order.append(f"c{k}")
        if not acts:
            return ctx.problem("every input is constant")
        return ctx.node(self.kind, acts, {"axis": axis, "rank": rank, "relu": act == "RELU",
                                          "bits": bits, "order": order}, consts)

    # ------------------------------------------------------------ shapes
    def _parts(self, n, low):
        """Each input's full-rank shape, in the op's input order."""
        rank = n.params["rank"]
        return [full_shape(low.shapes[n.inputs[e]], rank) if isinstance(e, int)
                else tuple(n.consts[e].shape) for e in n.params["order"]]

    def output_shape(self, n, low):
        parts, axis = self._parts(n, low), n.params["axis"]
        for p in parts:
            if len(p) != len(parts[0]) or any(a != b for d, (a, b) in enumerate(zip(p, parts[0]))
                                              if d != axis):
                raise ValueError(f"inputs of shapes {parts} along axis {axis}")
        shape = list(parts[0])
        shape[axis] = sum(p[axis] for p in parts)
        return strip_batch(shape)

    def layout(self, n, low):
        """(outer, chunks) as bnn_concat_* takes them (see bnn_concat.h)."""
        parts, axis = self._parts(n, low), n.params["axis"]
        return prod(parts[0][:axis]), [prod(p[axis:]) for p in parts]

    # ------------------------------------------------------------ C
    def emit(self, b, i, n):
        bits = n.params["bits"]
        ctype = "uint32_t" if bits else "float"
        outer, chunks = self.layout(n, b.low)
        ptrs = []
        for e in n.params["order"]:
            if isinstance(e, int):
                ptrs.append(b.buf(n.inputs[e]))
            else:
                ptrs.append(b.const("concat_c", ctype, n.consts[e],
                                    f"{n.name}: constant input {e[1:]}"))
        cname = f"concat_chunks{i:02d}"
        b.param(f"static const int32_t {cname}[{len(chunks)}] = "
                f"{{{', '.join(map(str, chunks))}}};")
        k = len(ptrs)
        call = (f"bnn_concat_u32(ins, {cname}, {k}, {outer}, {b.buf(n.outputs[0])});" if bits else
                f"bnn_concat_f32(ins, {cname}, {k}, {outer}, {int(n.params['relu'])}, "
                f"{b.buf(n.outputs[0])});")
        return [f"{{ const {ctype} *const ins[{k}] = {{{', '.join(ptrs)}}}; {call} }}"]

    def reference(self, n, inputs, low):
        rank = n.params["rank"]
        arrays = [np.asarray(inputs[e]).reshape(full_shape(low.shapes[n.inputs[e]], rank))
                  if isinstance(e, int) else n.consts[e] for e in n.params["order"]]
        out = np.concatenate(arrays, axis=n.params["axis"])
        if n.params["relu"]:
            out = np.where(out < 0, np.float32(0), out).astype(np.float32)
        return out.reshape(self.output_shape(n, low))
