"""Static memory planning: every activation gets an offset in one arena.

Buffers whose lifetimes (first writer .. last reader, in step order) do not
overlap may share bytes. Greedy first-fit, largest buffers first, ties broken by
first use: deterministic, and optimal for the chain-shaped graphs bnnkit sees.

Example:
    >>> plan = plan_arena([Buffer("a", 100, 0, 1), Buffer("b", 60, 1, 2), Buffer("c", 100, 2, 3)])
    >>> plan.offsets["a"], plan.offsets["b"], plan.offsets["c"], plan.size
    (0, 104, 0, 168)
"""

from __future__ import annotations

from dataclasses import dataclass

ALIGN = 8  # bytes: enough for float, uint32 and 64-bit NEON loads


@dataclass
class Buffer:
    name: str
    nbytes: int
    first: int  # index of the step that writes it (-1: written before the first step)
    last: int  # index of the last step that reads it


@dataclass
class ArenaPlan:
    offsets: dict
    size: int


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_arena(buffers: list[Buffer]) -> ArenaPlan:
    placed: list[tuple[Buffer, int]] = []
    offsets = {}
    for buf in sorted(buffers, key=lambda b: (-b.nbytes, b.first, b.name)):
        live = sorted(((off, off + _align(other.nbytes)) for other, off in placed
                       if not (other.last < buf.first or buf.last < other.first)))
        offset = 0
        for start, end in live:
            if offset + _align(buf.nbytes) <= start:
                break
            offset = max(offset, end)
        offsets[buf.name] = offset
        placed.append((buf, offset))
    size = max((off + _align(b.nbytes) for b, off in placed), default=0)
    return ArenaPlan(offsets, size)
