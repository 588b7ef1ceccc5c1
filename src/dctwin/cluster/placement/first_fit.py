"""First-fit placement: take free GPUs from domains in index order."""

from __future__ import annotations

from dctwin.cluster.placement.domains import Domains

__all__ = ["place"]


def place(dom: Domains, gpus: int) -> list[list[int]]:
    """Take ``gpus`` GPUs from the lowest-numbered domains with free GPUs; ``[[domain, count], ...]``."""
    need = gpus
    out: list[list[int]] = []
    free = dom.free
    for d in range(len(free)):
        f = free[d]
        if f:
            k = f if f < need else need
            dom.take(d, k)
            out.append([d, k])
            need -= k
            if need == 0:
                return out
    raise AssertionError(f"placement of {gpus} GPUs with only {dom.total_free} free")
