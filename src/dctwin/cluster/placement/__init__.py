"""Placement policies: which GPUs (in which NVLink domains) a job gets.

A placement is a function ``place(domains, gpus) -> [[domain, count], ...]``.
"""

from __future__ import annotations

from collections.abc import Callable

from dctwin.cluster.placement import first_fit, topology
from dctwin.cluster.placement.domains import Domains
from dctwin.errors import InputError

__all__ = ["PLACEMENTS", "Domains", "get_placement"]

PLACEMENTS: dict[str, Callable[[Domains, int], list[list[int]]]] = {
    "topology": topology.place,
    "first_fit": first_fit.place,
}


def get_placement(name: str) -> Callable[[Domains, int], list[list[int]]]:
    """The placement function called ``name``; an unknown name lists the valid ones."""
    try:
        return PLACEMENTS[name]
    except KeyError:
        raise InputError("unknown placement policy", field="scheduler.placement", value=name,
                         allowed=", ".join(sorted(PLACEMENTS))) from None
