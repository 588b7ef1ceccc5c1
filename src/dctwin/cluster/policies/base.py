"""The scheduling-policy interface.

A policy keeps its own queue of waiting jobs and, on ``schedule``, decides
which to start (and, if it may, which to preempt); the engine acts on those
decisions (``eng.start``, ``eng.preempt``) and keeps all accounting.

What a policy may read from the engine ``eng``: ``eng.gpus[j]``,
``eng.prio[j]``, ``eng.tenant[j]``, ``eng.state[j]`` (``QUEUED`` = waiting),
``eng.avail()`` (GPUs a job may take now), ``eng.expired(j, now)`` (drops a
job that waited past its ``max_wait_s``), ``eng.est_end_bin(j, now)``,
``eng.releases`` (Fenwick tree of GPUs released per time bin),
``eng.tenant_busy[t]``, ``eng.running_by_prio``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["QUEUED", "Policy"]

QUEUED = 1


class Policy:
    """Base class: one instance per run."""

    name = "base"

    def __init__(self, eng: Any, depth: int = 100) -> None:
        self.eng = eng
        self.depth = depth

    def push(self, j: int) -> None:
        """A newly submitted job ``j`` joins the queue."""
        raise NotImplementedError

    def requeue(self, j: int) -> None:
        """Job ``j`` was stopped (preempted or lost its node) and waits to resume."""
        raise NotImplementedError

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        """Start what may start at ``now`` [s]. ``released``: GPUs were freed since the last pass;
        ``new``: jobs submitted since the last pass."""
        raise NotImplementedError

    def waiting(self) -> int:
        """Number of queue entries (stale ones included); for diagnostics."""
        return 0
