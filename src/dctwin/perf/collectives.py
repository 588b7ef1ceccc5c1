"""Time of the collectives a parallel layout issues: ring algorithms on an alpha-beta link model.

Each collective over ``n`` ranks moving a buffer of ``size_b`` bytes per rank
costs a fixed latency per algorithm step plus its bus traffic over the
slowest link it crosses (Hockney's alpha-beta model; bus factors as NCCL
reports them in nccl-tests' PERFORMANCE.md):

* all-reduce (ring):      2 (n-1)/n * size / bw + 2 * steps * alpha
* reduce-scatter, all-gather: (n-1)/n * size / bw + steps * alpha
* all-to-all:               (n-1)/n * size / bw + steps * alpha

``steps`` is ``ceil(log2 n)``: NCCL switches to tree and hierarchical
algorithms at scale, so latency grows with the logarithm of the group, not
with n. A group inside one NVLink domain uses the NVLink bandwidth per GPU;
a group that leaves it is bound by the scale-out NIC of each GPU. Small
messages are latency-bound, large ones bandwidth-bound.
"""

from __future__ import annotations

import math

from dctwin.catalog.platform import Platform

__all__ = ["Link", "all_gather_s", "all_reduce_s", "all_to_all_s", "group_link", "reduce_scatter_s"]


class Link:
    """Bandwidth per GPU, one direction, achieved [B/s] and latency per algorithm step [s] of a group."""

    __slots__ = ("bw_b_per_s", "latency_s")

    def __init__(self, bw_b_per_s: float, latency_s: float):
        self.bw_b_per_s = bw_b_per_s
        self.latency_s = latency_s


def group_link(platform: Platform, span_gpus: int, c: dict) -> Link:
    """The link of a group whose ranks lie within ``span_gpus`` consecutive GPUs.

    Inside one NVLink domain: NVLink; else the scale-out network. Catalog
    bandwidths count both directions; a collective streams one way.
    """
    if span_gpus <= platform.scale_up_domain_gpus:
        return Link(platform.scale_up_bandwidth_gb_s / 2 * 1e9 * c["link_efficiency"], c["latency_scale_up_s"])
    return Link(platform.scale_out_bandwidth_gb_s / 2 * 1e9 * c["link_efficiency"], c["latency_scale_out_s"])


def _steps(n: int) -> int:
    return max(1, math.ceil(math.log2(n)))


def all_reduce_s(size_b: float, n: int, link: Link) -> float:
    """Ring all-reduce of ``size_b`` bytes per rank over ``n`` ranks [s]."""
    if n <= 1:
        return 0.0
    return 2.0 * (n - 1) / n * size_b / link.bw_b_per_s + 2 * _steps(n) * link.latency_s


def reduce_scatter_s(size_b: float, n: int, link: Link) -> float:
    """Reduce-scatter of a ``size_b``-byte buffer per rank [s] (all-gather costs the same)."""
    if n <= 1:
        return 0.0
    return (n - 1) / n * size_b / link.bw_b_per_s + _steps(n) * link.latency_s


all_gather_s = reduce_scatter_s


def all_to_all_s(size_b: float, n: int, link: Link) -> float:
    """All-to-all where each rank holds ``size_b`` bytes and keeps 1/n of them [s]."""
    if n <= 1:
        return 0.0
    return (n - 1) / n * size_b / link.bw_b_per_s + _steps(n) * link.latency_s
