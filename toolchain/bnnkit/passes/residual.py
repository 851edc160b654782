"""Residual ADDs computed by the binary convolution before them."""

from __future__ import annotations

from ..lower import Lowered
from ._graph import consumers, producer


# ------------------------------------------------------------------ pass 7

def fuse_residual_add(low: Lowered) -> Lowered:
    """``ADD(skip, LceBconv2d(...))`` of two float tensors of one shape: the
    binary conv adds ``skip`` to each value as it writes it (the ADD's one
    rounding, then its clamp), so its own output never takes arena memory, and
    the planner may write the sum over ``skip`` where the skip dies there.

    The conv must have float output, no fused pool and no other reader, and
    ``skip`` must exist before the conv runs (made by an earlier step, or the
    network's input). Where both operands are such convs, the later one
    takes the ADD, since the earlier one's output then exists."""
    nodes = low.nodes
    for add in [n for n in nodes if n.kind == "add" and len(n.inputs) == 2]:
        shape = tuple(low.shapes[add.outputs[0]])
        if any(tuple(low.shapes[t]) != shape for t in add.inputs) or add.inputs[0] == add.inputs[1]:
            continue
        step = {id(n): i for i, n in enumerate(nodes)}
        best = None
        for k, t in enumerate(add.inputs):
            conv, skip = producer(nodes, t), add.inputs[1 - k]
            if (conv is None or conv.kind != "bconv2d" or conv.params["output"] != "float"
                    or conv.params["pool"] or len(conv.inputs) != 1 or t == low.output
                    or len(consumers(nodes, t)) != 1):
                continue
            made = producer(nodes, skip)
            if made is not None and step[id(made)] >= step[id(conv)]:
                continue
            if best is None or step[id(conv)] > step[id(best[0])]:
                best = (conv, skip)
        if best is None:
            continue
        conv, skip = best
        conv.inputs.append(skip)
        conv.params["residual_act"] = add.params.get("op_act", "NONE")
        conv.outputs = list(add.outputs)
        nodes.remove(add)
    return low
