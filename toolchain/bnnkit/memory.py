"""Static memory planning: every activation gets an offset in one arena.

Buffers whose lifetimes (first writer .. last reader, in step order) do not
overlap may share bytes. A strategy is any object with ``name`` and
``plan(buffers) -> ArenaPlan``; :data:`STRATEGIES` lists them by name and
:func:`plan_arena` runs one and then :func:`check_plan` on its result, so no
strategy can hand the emitter a plan in which two live buffers overlap.

Example:
    >>> plan = plan_arena([Buffer("a", 100, 0, 1), Buffer("b", 60, 1, 2), Buffer("c", 100, 2, 3)])
    >>> plan.offsets["a"], plan.offsets["b"], plan.offsets["c"], plan.size
    (0, 104, 0, 168)
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BnnkitError

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


def aligned(n: int) -> int:
    """``n`` bytes rounded up to the arena's alignment.

    Example:
        >>> aligned(1), aligned(8), aligned(9)
        (8, 8, 16)
    """
    return (n + ALIGN - 1) // ALIGN * ALIGN


def live_together(a: Buffer, b: Buffer) -> bool:
    """Whether two buffers are live at one step (so they must not share bytes).

    Example:
        >>> live_together(Buffer("a", 4, 0, 1), Buffer("b", 4, 1, 2))
        True
        >>> live_together(Buffer("a", 4, 0, 1), Buffer("b", 4, 2, 3))
        False
    """
    return not (a.last < b.first or b.last < a.first)


class GreedyBySize:
    """First fit, largest buffers first, ties broken by first use and name:
    deterministic, and optimal for the chain-shaped graphs bnnkit sees."""

    name = "greedy-by-size"

    def plan(self, buffers: list[Buffer]) -> ArenaPlan:
        placed: list[tuple[Buffer, int]] = []
        offsets = {}
        for buf in sorted(buffers, key=lambda b: (-b.nbytes, b.first, b.name)):
            live = sorted((off, off + aligned(other.nbytes)) for other, off in placed
                          if live_together(other, buf))
            offset = 0
            for start, end in live:
                if offset + aligned(buf.nbytes) <= start:
                    break
                offset = max(offset, end)
            offsets[buf.name] = offset
            placed.append((buf, offset))
        size = max((off + aligned(b.nbytes) for b, off in placed), default=0)
        return ArenaPlan(offsets, size)


STRATEGIES = {s.name: s for s in (GreedyBySize(),)}


def check_plan(buffers: list[Buffer], plan: ArenaPlan) -> None:
    """Prove a plan safe: every buffer placed once, aligned, inside the arena,
    and no two buffers live at one step sharing a byte. Raises BnnkitError
    naming the first conflict.

    Example:
        >>> bufs = [Buffer("a", 16, 0, 1), Buffer("b", 16, 1, 2)]
        >>> check_plan(bufs, ArenaPlan({"a": 0, "b": 16}, 32))
        >>> check_plan(bufs, ArenaPlan({"a": 0, "b": 8}, 32))
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: internal: arena plan overlaps a [0, 16) and b [8, 24), both live at step 1
    """
    names = [b.name for b in buffers]
    if len(set(names)) != len(names) or set(plan.offsets) != set(names):
        raise BnnkitError("internal: arena plan does not place each buffer exactly once")
    for b in buffers:
        off = plan.offsets[b.name]
        if off < 0 or off % ALIGN or off + b.nbytes > plan.size:
            raise BnnkitError(f"internal: arena plan puts {b.name} at {off}, outside the "
                              f"{plan.size}-byte arena or unaligned")
    # sweep by offset: only buffers whose byte ranges intersect are compared
    spans = sorted(((plan.offsets[b.name], plan.offsets[b.name] + b.nbytes, b) for b in buffers),
                   key=lambda s: (s[0], s[1], s[2].name))
    for i, (start, end, b) in enumerate(spans):
        for start2, end2, b2 in spans[i + 1:]:
            if start2 >= end:
                break
            if b.nbytes and b2.nbytes and live_together(b, b2):
                raise BnnkitError(
                    f"internal: arena plan overlaps {b.name} [{start}, {end}) and {b2.name} "
                    f"[{start2}, {end2}), both live at step {max(b.first, b2.first)}")


def plan_arena(buffers: list[Buffer], strategy: str = "greedy-by-size") -> ArenaPlan:
    """Place ``buffers`` with the named strategy and check the result."""
    try:
        planner = STRATEGIES[strategy]
    except KeyError:
        raise BnnkitError(f"unknown memory strategy {strategy!r} (choose from "
                          f"{', '.join(STRATEGIES)})") from None
    plan = planner.plan(buffers)
    check_plan(buffers, plan)
    return plan
