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


def check_in_place(lives: dict, writes_over: dict, allowed: set) -> None:
    """Prove the in-place choices safe. ``lives`` maps each tensor to its
    (first, last) step, ``writes_over`` a tensor to the one whose memory it
    takes over, ``allowed`` holds the (step, output, input) triples the op
    kinds permit. Tensors sharing memory must live one after another, and
    where one is born at the step the other dies, that step's kernel must
    permit it. Raises BnnkitError naming the first conflict.

    Example:
        >>> check_in_place({"x": (0, 1), "y": (1, 2)}, {"y": "x"}, {(1, "y", "x")})
        >>> check_in_place({"x": (0, 2), "y": (1, 3)}, {"y": "x"}, {(1, "y", "x")})
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: internal: y written over x at step 1 while x is read until step 2
    """
    groups: dict = {}
    for t in lives:
        r = t
        while r in writes_over:
            r = writes_over[r]
        groups.setdefault(r, []).append(t)
    for members in groups.values():
        members.sort(key=lambda t: (lives[t], str(t)))
        for a, b in zip(members, members[1:]):
            (_, a_last), (b_first, _) = lives[a], lives[b]
            if a_last > b_first or (a_last == b_first and (b_first, b, a) not in allowed):
                raise BnnkitError(f"internal: {b} written over {a} at step {b_first} while "
                                  f"{a} is read until step {a_last}")


def low_peak_order(steps: list, nbytes: dict, keep=()) -> list:
    """A topological order of ``steps`` ((inputs, outputs) per step, tensors
    as names) that keeps little memory live: of the steps whose inputs exist,
    run the one that adds the fewest bytes (its outputs minus the inputs it is
    the last reader of), the earliest given on ties. Deterministic. Tensors
    in ``keep`` (the network's output) are never counted as freed. The
    planner adopts the order only if its arena is smaller.

    Example (the branch that frees its input runs first):
        >>> steps = [(["x"], ["a"]), (["x"], ["b"]), (["a"], ["c"]), (["b", "c"], ["y"])]
        >>> low_peak_order(steps, {"x": 64, "a": 16, "b": 4, "c": 32, "y": 8})
        [1, 0, 2, 3]
    """
    made_by = {t: i for i, (_, outs) in enumerate(steps) for t in outs}
    readers: dict = {}
    for i, (ins, _) in enumerate(steps):
        for t in set(ins):
            readers[t] = readers.get(t, 0) + 1
    done, order = set(), []
    while len(order) < len(steps):
        best = None
        for i, (ins, outs) in enumerate(steps):
            if i in done or any(made_by.get(t, -1) not in done and t in made_by for t in ins):
                continue
            freed = sum(nbytes.get(t, 0) for t in set(ins) if readers[t] == 1 and t not in keep)
            key = (sum(nbytes.get(t, 0) for t in outs) - freed, i)
            if best is None or key < best:
                best = key
        i = best[1]
        done.add(i)
        order.append(i)
        for t in set(steps[i][0]):
            readers[t] -= 1
    return order
