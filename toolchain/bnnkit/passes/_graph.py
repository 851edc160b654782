"""Where a tensor comes from and goes to in a list of lowered nodes."""

from __future__ import annotations


def consumers(nodes, tensor):
    """The nodes that read ``tensor``."""
    return [n for n in nodes if tensor in n.inputs]


def producer(nodes, tensor):
    """The node that writes ``tensor`` (None: the input or a constant)."""
    return next((n for n in nodes if tensor in n.outputs), None)
