"""Residual ADDs computed by the convolution before them."""

from __future__ import annotations

from ..lower import Lowered
from ._graph import consumers, producer


def _fusable(conv, add, low) -> bool:
    """Whether ``conv`` can compute ``add`` as it writes: a binary conv with
    float output under a float ADD, or an int8 conv on its rows path (more
    than one output position) under an int8 ADD of two activations; no fused
    pool in either."""
    if conv is None or len(conv.inputs) != 1 or conv.params.get("pool"):
        return False
    if add.kind == "add":
        return conv.kind == "bconv2d" and conv.params["output"] == "float"
    if (add.kind == "add_s8" and add.params["operands"] == ["input", "input"]
            and conv.kind == "conv2d_s8"):
        h, w, _ = low.shapes[conv.outputs[0]]
        return h * w > 1
    return False


# ------------------------------------------------------------------ pass 7

def fuse_residual_add(low: Lowered) -> Lowered:
    """``ADD(skip, conv(...))`` of two tensors of one shape: the conv adds
    ``skip`` to each value as it writes it (the ADD's arithmetic: one float
    rounding and its clamp, or int8's rescaling of both operands), so its own
    output never takes arena memory, and the planner may write the sum over
    ``skip`` where the skip dies there.

    The conv's output must have no other reader (so ``skip`` cannot depend on
    it), and the conv moves to the ADD's step, where both exist. Where both
    operands are such convs, the one with more work takes the ADD: the main
    branch of a residual block, so that its shortcut (a 1x1 conv) runs first
    and the block's input can die there."""
    from ..ops import op_kind

    def work(n):
        c = op_kind(n.kind).cost(n, low)
        return c.macs + c.bops

    nodes = low.nodes
    for add in [n for n in nodes if n.kind in ("add", "add_s8") and len(n.inputs) == 2]:
        shape = tuple(low.shapes[add.outputs[0]])
        if any(tuple(low.shapes[t]) != shape for t in add.inputs) or add.inputs[0] == add.inputs[1]:
            continue
        step = {id(n): i for i, n in enumerate(nodes)}
        best = None
        for k, t in enumerate(add.inputs):
            conv, skip = producer(nodes, t), add.inputs[1 - k]
            if not _fusable(conv, add, low) or t == low.output or len(consumers(nodes, t)) != 1:
                continue
            key = (work(conv), step[id(conv)])
            if best is None or key > best[0]:
                best = (key, conv, skip, k)
        if best is None:
            continue
        _, conv, skip, k = best
        del nodes[step[id(conv)]]  # by identity: nodes compare by value
        nodes.insert(next(i for i, n in enumerate(nodes) if n is add), conv)
        conv.inputs.append(skip)
        if add.kind == "add":
            conv.params["residual_act"] = add.params.get("op_act", "NONE")
        else:  # the int8 ADD's own arithmetic, and which operand the conv's output was
            conv.params["residual_add"] = dict(add.params)
            conv.params["conv_first"] = k == 0
        conv.outputs = list(add.outputs)
        del nodes[next(i for i, n in enumerate(nodes) if n is add)]
    return low
