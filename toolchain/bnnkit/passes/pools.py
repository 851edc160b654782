"""Max pools computed by the convolution before them."""

from __future__ import annotations


from ..lower import Lowered
from ._graph import consumers


# ------------------------------------------------------------------ pass 5

def fuse_conv_pool(low: Lowered) -> Lowered:
    """``CONV_2D -> MAX_POOL_2D``, non-overlapping and VALID, without an
    activation of the pool's own: the conv pools as it goes (float: after its
    ReLU; int8: the largest accumulator, requantized once, the same bytes as
    requantization and clamp are monotone)."""
    nodes = low.nodes
    pools = {"conv2d": "maxpool", "conv2d_s8": "maxpool_s8"}
    for conv in [n for n in nodes if n.kind in pools]:
        users = consumers(nodes, conv.outputs[0])
        if len(users) != 1 or users[0].kind != pools[conv.kind] or conv.outputs[0] == low.output:
            continue
        pool = users[0]
        if (pool.params["padding"] != "VALID" or pool.params["filter"] != pool.params["stride"]
                or pool.params.get("relu") or pool.params.get("act", (-128, 127)) != (-128, 127)):
            continue
        conv.params["pool"] = pool.params["filter"]
        conv.outputs = list(pool.outputs)
        nodes.remove(pool)
    return low


def fuse_bconv_pool(low: Lowered) -> Lowered:
    """``LceBconv2d -> MAX_POOL_2D`` (float or int8, no clamp of its own) or
    ``-> LceBMaxPool2d`` (bits), non-overlapping and VALID: the binary conv pools
    as it goes, so its unpooled output never takes arena memory."""
    nodes = low.nodes
    for conv in [n for n in nodes if n.kind == "bconv2d" and not n.params["pool"]]:
        users = consumers(nodes, conv.outputs[0])
        want = {"float": "maxpool", "int8": "maxpool_s8", "bits": "bmaxpool"}[conv.params["output"]]
        if len(users) != 1 or users[0].kind != want or conv.outputs[0] == low.output:
            continue
        pool = users[0]
        if (pool.params["padding"] != "VALID" or pool.params["filter"] != pool.params["stride"]
                or pool.params.get("relu") or pool.params.get("act", (-128, 127)) != (-128, 127)):
            continue
        conv.params["pool"] = tuple(pool.params["filter"])
        conv.outputs = list(pool.outputs)
        nodes.remove(pool)
    return low
