"""Topology-aware placement: a job spans as few NVLink domains as possible.

Greedy on the emptiest domains, which needs the fewest domains, with the
last piece put in the tightest domain that holds it (best fit), so whole
domains stay whole for the next large job. Within a level (domains with the
same free count) the lowest domain index is taken (``Domains.first``).
"""

from __future__ import annotations

from dctwin.cluster.placement.domains import Domains, first

__all__ = ["place"]


def place(dom: Domains, gpus: int) -> list[list[int]]:
    """Take ``gpus`` GPUs from ``dom``; returns ``[[domain, count], ...]``. Caller ensures enough are free."""
    c = dom.count
    size = dom.size
    need = gpus
    out: list[list[int]] = []
    while need > 0:
        if need <= size:
            for level in range(need, size + 1):
                if c[level]:
                    d = first(dom, level)
                    dom.take(d, need)
                    out.append([d, need])
                    return out
        level = size if need > size else need - 1
        while not c[level]:
            level -= 1
            if level == 0:
                raise AssertionError(f"placement of {gpus} GPUs with only {dom.total_free} free")
        d = first(dom, level)
        dom.take(d, level)
        out.append([d, level])
        need -= level
    return out
