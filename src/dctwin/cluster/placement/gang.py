"""Gang placement rule and the queue wait it causes (fragmentation).

Rule ``domain`` (``scheduler.gang_rule``): a job of up to one domain's GPUs must
sit in one scale-up domain; a larger job takes whole free domains, plus one
domain holding the remainder. A job waits until such a shape is free even when
enough GPUs are free in total: that wait is fragmentation. Rule ``none``: any
free GPUs will do (the placement still packs them into few domains).

The topology placement (``topology.place``) takes exactly such a shape when one
exists, so the rule only decides *when* a job may start.

Fragmentation wait. The scheduler is *blocked by fragmentation* from a pass in
which the job it was about to start (its queue head, or a tenant's head) had
its GPUs free in total but in no allowed shape, until a pass in which such a
job started or lacked GPUs in total. Passes run at every release and
submission, so the free GPUs do not change between them. A job's
fragmentation wait is the part of its queue wait (from reaching the queue to
its first start) that falls in those periods: every job waiting behind a
blocked head waits because of fragmentation, not for lack of GPUs. Backfill
candidates are checked against the rule without moving the blocked state.
"""

from __future__ import annotations

import numpy as np

from dctwin.cluster.placement.domains import Domains
from dctwin.errors import InputError

__all__ = ["GANG_RULES", "GangRule", "gang_rule", "shape_free"]

GANG_RULES = ("none", "domain")


def shape_free(dom: Domains, gpus: int) -> bool:
    """True when ``dom`` has free GPUs in the shape rule 'domain' asks for ``gpus`` GPUs."""
    c = dom.count
    size = dom.size
    if gpus <= size:
        for level in range(gpus, size + 1):
            if c[level]:
                return True
        return False
    whole, rem = divmod(gpus, size)
    n_whole = c[size]
    if n_whole < whole:
        return False
    if rem == 0 or n_whole > whole:
        return True
    for level in range(rem, size):
        if c[level]:
            return True
    return False


class GangRule:
    """Rule 'domain' for one run, with the periods [s] the scheduler was blocked by fragmentation."""

    __slots__ = ("dom", "ends", "since", "starts")

    def __init__(self, dom: Domains) -> None:
        self.dom = dom
        self.since = -1.0
        self.starts: list[float] = []
        self.ends: list[float] = []

    def check(self, gpus: int, now: float) -> bool:
        """A job of ``gpus`` GPUs (free in total) may start now; else a blocked period starts."""
        if shape_free(self.dom, gpus):
            self.stop(now)
            return True
        if self.since < 0:
            self.since = now
        return False

    def block(self, now: float) -> None:
        """The scheduler is blocked by the shape of the free GPUs from ``now`` (if not already)."""
        if self.since < 0:
            self.since = now

    def stop(self, now: float) -> None:
        """The scheduler is not (or no longer) blocked by the shape of the free GPUs."""
        if self.since >= 0:
            if now > self.since:
                self.starts.append(self.since)
                self.ends.append(now)
            self.since = -1.0

    def overlap_s(self, t0: np.ndarray, t1: np.ndarray, t_end: float) -> np.ndarray:
        """Time [s] of each interval ``[t0, t1)`` spent blocked (a period still open ends at ``t_end``)."""
        starts, ends = list(self.starts), list(self.ends)
        if 0 <= self.since < t_end:
            starts.append(self.since)
            ends.append(t_end)
        s = np.asarray(starts, dtype=np.float64)
        e = np.asarray(ends, dtype=np.float64)
        if s.size == 0:
            return np.zeros(np.shape(t0))
        before = np.concatenate(([0.0], np.cumsum(e - s)))       # blocked time before each period

        def until(t: np.ndarray) -> np.ndarray:
            i = np.searchsorted(s, t, side="right")              # periods starting at or before t
            k = np.maximum(i - 1, 0)
            return np.where(i > 0, before[k] + np.clip(t - s[k], 0.0, e[k] - s[k]), 0.0)

        return np.maximum(until(np.asarray(t1, dtype=np.float64)) - until(np.asarray(t0, dtype=np.float64)), 0.0)


def gang_rule(name: str, placement: str) -> str:
    """Check ``scheduler.gang_rule`` against the placement; returns the rule."""
    if name not in GANG_RULES:
        raise InputError("unknown gang rule", field="scheduler.gang_rule", value=name, allowed=", ".join(GANG_RULES))
    if name != "none" and placement != "topology":
        raise InputError("a gang rule needs the topology placement (first_fit does not take whole domains)",
                         field="scheduler.placement", value=placement, allowed="topology")
    return name
