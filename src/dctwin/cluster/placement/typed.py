"""GPU-type pools in one cluster: domains that each hold GPUs of one type, and a per-type view of them.

``TypedDomains`` is a ``Domains`` whose every take and give also moves the
domain in its type's own levels (count and lowest-index heap per free count),
so "a domain of type t with at least r free" is as cheap as without types. A
``TypeView`` offers the parts of ``Domains`` that the topology placement and
the gang rule read (``count``, ``first``, ``size``, ``take``, ``total_free``),
restricted to one type: a job placed through the view of its type never gets
another type's GPUs. Inference replicas take any type (they go through the
whole ``TypedDomains``).

A job's type request (job table column ``gpu_type``): '' for any type, a
name, or names separated by '|' for any of them (the Alibaba openb
``gpu_spec`` form). ``parse_types`` turns them into type indices and refuses a
type the cluster lacks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.cluster.placement.domains import Domains, enter, first
from dctwin.cluster.placement.gang import shape_free
from dctwin.errors import InputError

__all__ = ["TypeView", "TypedDomains", "can_start", "fits_typed", "parse_types", "pick_type"]


class TypeView:
    """The domains of one GPU type: levels by free count (see ``domains``), free total, and ``take`` through
    the whole cluster."""

    __slots__ = ("count", "dom", "free", "heaps", "queued", "size", "t", "total_free")

    def __init__(self, dom: Domains, t: int) -> None:
        self.dom = dom
        self.t = t
        self.size = dom.size
        self.free = dom.free                 # the cluster's list: a heap entry is stale once free[d] != level
        self.count = [0] * (dom.size + 1)
        self.heaps: list[list[int]] = [[] for _ in range(dom.size + 1)]
        self.queued: list[set[int]] = [set() for _ in range(dom.size + 1)]
        self.total_free = 0

    def first(self, level: int) -> int:
        """Lowest-index domain of this type with exactly ``level`` free GPUs (one must exist)."""
        return first(self, level)

    def move(self, d: int, before: int, after: int) -> None:
        """Domain ``d`` went from ``before`` to ``after`` free GPUs (``free[d]`` already holds ``after``)."""
        if before:
            self.count[before] -= 1
        if after:
            enter(self, d, after)
        self.total_free += after - before

    def take(self, d: int, n: int) -> None:
        if self.dom.dtype[d] != self.t:
            raise AssertionError(f"domain {d} holds type {self.dom.dtype[d]}, not {self.t}")
        self.dom.take(d, n)


class TypedDomains(Domains):
    """Domains of the sizes in ``plan``, domain ``d`` holding GPUs of type ``types[d]`` (index into ``names``)."""

    __slots__ = ("dtype", "names", "views")

    def __init__(self, plan: list[int], types: list[int], names: list[str]) -> None:
        if len(types) != len(plan):
            raise ValueError(f"{len(types)} domain types for {len(plan)} domains")
        super().__init__(list(plan))
        self.dtype = list(types)
        self.names = list(names)
        self.views = [TypeView(self, t) for t in range(len(names))]

    def take(self, d: int, n: int) -> None:
        f = self.free[d]
        super().take(d, n)
        self.views[self.dtype[d]].move(d, f, f - n)

    def give(self, d: int, n: int) -> None:
        f = self.free[d]
        super().give(d, n)
        self.views[self.dtype[d]].move(d, f, f + n)


def parse_types(requests: pd.Series, names: list[str], file: str | None = None) -> list[tuple[int, ...] | None]:
    """Per job: None (any type) or the indices of the types it accepts; a type not in ``names`` is refused."""
    index = {n: i for i, n in enumerate(names)}
    codes, uniques = pd.factorize(requests.fillna("").astype(str))
    parsed: list[tuple[int, ...] | None] = []
    for u in uniques:
        wanted = [w.strip() for w in str(u).split("|") if w.strip()]
        missing = [w for w in wanted if w not in index]
        if missing:
            row = int(np.argmax(codes == len(parsed)))
            raise InputError(f"row {row}: the cluster has no GPUs of this type", file=file, field="gpu_type",
                             value=missing[0], allowed=", ".join(names) + " ('' for any, '|' between alternatives)")
        parsed.append(tuple(index[w] for w in dict.fromkeys(wanted)) or None)
    return [parsed[c] for c in codes]


def pick_type(eng, j: int) -> tuple[bool, bool]:
    """(job ``j`` fits now in one of its types, and the type ``eng.chosen[j]`` it goes to; enough GPUs of some
    accepted type are free in total). Obeys the busy cap, the hot spares and the gang rule."""
    g = eng.gpus[j]
    if g > eng.cur_limit - eng.busy - eng.inf:
        return False, False
    enough = False
    views = eng.dom.views
    for t in eng.jtypes[j]:
        view = views[t]
        if g <= view.total_free - eng.spare:
            enough = True
            if eng.gang is None or shape_free(view, g):
                eng.chosen[j] = t
                return True, True
    return False, enough


def fits_typed(eng, j: int, now: float) -> bool:
    """``Engine.fits`` for a job that asks for GPU types: keeps the gang rule's blocked state."""
    ok, enough = pick_type(eng, j)
    gang = eng.gang
    if gang is not None:
        if ok or not enough:
            gang.stop(now)
        else:
            gang.block(now)
    return ok


def can_start(eng, j: int, g: int) -> bool:
    """``g`` GPUs (job ``j``'s; -1: no job) may be placed now: free, under the cap, in a shape the gang rule
    allows and of a type job ``j`` accepts."""
    if j >= 0 and eng.jtypes is not None and eng.jtypes[j] is not None:
        return pick_type(eng, j)[0]
    return eng.avail() >= g and (eng.gang is None or shape_free(eng.dom, g))
