"""Time of the collectives a parallel layout issues: alpha-beta costs of ring and tree algorithms.

A collective over ``n`` ranks moving ``size_b`` bytes per rank costs a fixed
launch latency, a latency per algorithm step on the link that step crosses,
and its bus traffic over the slowest link of the group (Hockney's alpha-beta
model; steps and latencies as NCCL's own tuning model counts them,
``src/graph/tuning.cc``; bus factors as nccl-tests' PERFORMANCE.md reports):

* ring all-reduce: 2 (n-1) steps, of which 2 (k-1) cross between the ``k``
  nodes of the group and the rest stay on NVLink; 2 (n-1)/n * size / bw;
* tree all-reduce (NCCL's double binary tree): 2 ((n/k - 1) NVLink steps +
  log2 k network steps); about 2 * size / bw. NCCL picks the faster of the
  two, so latency grows linearly with n for large messages (ring) and with
  log k for small ones (tree);
* reduce-scatter, all-gather (ring only): n-1 steps, k-1 across nodes;
  (n-1)/n * size / bw;
* all-to-all and point-to-point sends: issued at once, one step of the
  slowest link.

A group inside one NVLink domain uses the NVLink bandwidth per GPU; a group
that leaves it is bound by the scale-out NIC of each GPU.
"""

from __future__ import annotations

import math

from dctwin.catalog.platform import Platform
from dctwin.perf.hardware import link_bytes_per_s_one_way

__all__ = ["Link", "all_gather_s", "all_reduce_s", "all_to_all_s", "group_link", "reduce_scatter_s", "send_s"]


class Link:
    """What a collective group runs on.

    ``bw_b_per_s``: achieved bandwidth per GPU, one direction [B/s];
    ``latency_s``: latency of an algorithm step inside a node (NVLink) [s];
    ``latency_inter_s``: latency of a step between nodes [s] (defaults to
    ``latency_s``); ``launch_s``: fixed cost of one collective call [s];
    ``nodes``: NVLink domains the group spans [-].
    """

    __slots__ = ("bw_b_per_s", "latency_inter_s", "latency_s", "launch_s", "nodes")

    def __init__(self, bw_b_per_s: float, latency_s: float, latency_inter_s: float | None = None,
                 launch_s: float = 0.0, nodes: int = 1):
        self.bw_b_per_s = bw_b_per_s
        self.latency_s = latency_s
        self.latency_inter_s = latency_s if latency_inter_s is None else latency_inter_s
        self.launch_s = launch_s
        self.nodes = max(1, int(nodes))


def group_link(platform: Platform, span_gpus: int, c: dict) -> Link:
    """The link of a group whose ranks lie within ``span_gpus`` consecutive GPUs.

    Inside one NVLink domain: NVLink; else the scale-out network. Catalog
    bandwidths count both directions; a collective streams one way.
    """
    domain = max(1, platform.scale_up_domain_gpus)
    nodes = max(1, math.ceil(span_gpus / domain))
    gb_s = platform.scale_up_bandwidth_gb_s if nodes == 1 else platform.scale_out_bandwidth_gb_s
    return Link(link_bytes_per_s_one_way(gb_s, c), c["latency_scale_up_s"], c["latency_scale_out_s"],
                c["collective_launch_s"], nodes)


def _ring_latency_s(n: int, link: Link, passes: int) -> float:
    """Launch plus ``passes`` x (n-1) ring steps, ``passes`` x (k-1) of them between nodes [s]."""
    k = min(n, link.nodes)
    inter = passes * (k - 1)
    return link.launch_s + (passes * (n - 1) - inter) * link.latency_s + inter * link.latency_inter_s


def all_reduce_s(size_b: float, n: int, link: Link) -> float:
    """All-reduce of ``size_b`` bytes per rank over ``n`` ranks, faster of ring and tree [s]."""
    if n <= 1:
        return 0.0
    ring = 2.0 * (n - 1) / n * size_b / link.bw_b_per_s + _ring_latency_s(n, link, 2)
    k = min(n, link.nodes)
    per_node = math.ceil(n / k)
    tree_lat = 2 * ((per_node - 1) * link.latency_s + math.ceil(math.log2(k)) * link.latency_inter_s)
    tree = 2.0 * size_b / link.bw_b_per_s + link.launch_s + tree_lat
    return min(ring, tree)


def reduce_scatter_s(size_b: float, n: int, link: Link) -> float:
    """Ring reduce-scatter of a ``size_b``-byte buffer per rank [s] (all-gather costs the same)."""
    if n <= 1:
        return 0.0
    return (n - 1) / n * size_b / link.bw_b_per_s + _ring_latency_s(n, link, 1)


all_gather_s = reduce_scatter_s


def all_to_all_s(size_b: float, n: int, link: Link) -> float:
    """All-to-all where each rank holds ``size_b`` bytes and keeps 1/n of them [s]."""
    if n <= 1:
        return 0.0
    step = link.latency_inter_s if min(n, link.nodes) > 1 else link.latency_s
    return (n - 1) / n * size_b / link.bw_b_per_s + link.launch_s + step


def send_s(size_b: float, link: Link) -> float:
    """One point-to-point send of ``size_b`` bytes to a neighbour over ``link`` [s]."""
    step = link.latency_inter_s if link.nodes > 1 else link.latency_s
    return size_b / link.bw_b_per_s + link.launch_s + step
