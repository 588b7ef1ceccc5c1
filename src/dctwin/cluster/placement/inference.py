"""Inference GPUs granted and given back at a step edge: the engine's busiest loop on a large cluster.

Inference replicas fill the fullest domains first, lowest domain index first within a level
(``Domains.take_packed``'s rule), and give back their oldest pieces first. With 8-GPU domains that is
tens of 1-8 GPU pieces a step (a Frontier-sized year: ~40 M pieces). ``grant_inference`` is
``take_packed`` + one log row and one ``pieces`` update per piece in one loop, with ``Domains.take``'s
level moves inlined; typed clusters keep the per-piece calls.
"""

from __future__ import annotations

from dctwin.cluster.placement.domains import Domains, enter, first
from dctwin.cluster.placement.log import INFERENCE, PlacementLog

__all__ = ["grant_inference", "return_inference"]


def grant_inference(dom: Domains, pieces: dict[int, int], log: PlacementLog, now: float, n: int) -> None:
    """Take ``n`` GPUs packed (fullest domains first) for inference; add them to ``pieces`` and ``log``."""
    c, free = dom.count, dom.free
    rows: list[float] = []
    dom.total_free -= n
    level = 1
    while n > 0:
        while not c[level]:
            level += 1
        d = first(dom, level)
        k = level if level < n else n
        c[level] -= 1                                      # Domains.take(d, k) with free[d] == level
        f = level - k
        free[d] = f
        if f:
            enter(dom, d, f)
        rows += (now, INFERENCE, d, k)
        pieces[d] = pieces.get(d, 0) + k
        n -= k
    log.flat(now, rows)


def return_inference(dom: Domains, pieces: dict[int, int], log: PlacementLog, now: float, y: int) -> None:
    """Give back ``y`` inference GPUs, oldest pieces first (``pieces`` in insertion order)."""
    if type(dom) is not Domains:
        rows = []
        for d, c in pieces.items():
            r = c if c < y else y
            dom.give(d, r)
            rows.append((d, r))
            y -= r
            if y == 0:
                break
    else:
        rows = _give_back(dom, pieces, y)
    flat: list[float] = []
    for d, r in rows:
        flat += (now, INFERENCE, d, -r)
        if r == pieces[d]:
            del pieces[d]
        else:
            pieces[d] -= r
    log.flat(now, flat)


def _give_back(dom: Domains, pieces: dict[int, int], y: int) -> list[tuple[int, int]]:
    """``Domains.give`` of the oldest pieces until ``y`` GPUs are back, inlined; the (domain, GPUs) given."""
    count, free, cap = dom.count, dom.free, dom.cap
    out = []
    back = 0
    for d, c in pieces.items():
        r = c if c < y else y
        f = free[d]
        if f + r > cap[d]:
            raise AssertionError(f"domain {d}: freeing {r} GPUs over its {cap[d]} (double free)")
        if f:
            count[f] -= 1
        free[d] = f + r
        enter(dom, d, f + r)
        out.append((d, r))
        back += r
        y -= r
        if y == 0:
            break
    dom.total_free += back
    return out
