"""Topology-aware placement: a job spans as few NVLink domains as possible.

Greedy on the emptiest domains, which needs the fewest domains, with the
last piece put in the tightest domain that holds it (best fit), so whole
domains stay whole for the next large job.
"""

from __future__ import annotations

from itertools import islice

from dctwin.cluster.placement.domains import Domains

__all__ = ["place"]


def place(dom: Domains, gpus: int) -> list[list[int]]:
    """Take ``gpus`` GPUs from ``dom``; returns ``[[domain, count], ...]``. Caller ensures enough are free."""
    b = dom.buckets
    size = dom.size
    need = gpus
    out: list[list[int]] = []
    while need > 0:
        if need <= size:
            for level in range(need, size + 1):
                s = b[level]
                if s:
                    d = next(iter(s))
                    dom.take(d, need)
                    out.append([d, need])
                    return out
        level = size if need > size else need - 1
        while not b[level]:
            level -= 1
            if level == 0:
                raise AssertionError(f"placement of {gpus} GPUs with only {dom.total_free} free")
        if need <= size:
            d = next(iter(b[level]))
            dom.take(d, level)
            out.append([d, level])
            need -= level
            continue
        # more than a domain still needed: whole domains of this level in the set's order (nothing joins the
        # level meanwhile), one pass over the set instead of a scan from its start per domain
        for d in list(islice(b[level], (need - size - 1) // level + 1)):
            dom.take(d, level)
            out.append([d, level])
            need -= level
    return out
