"""The scheduling-policy interface.

A policy keeps its own queue of waiting jobs and, on ``schedule``, decides
which to start (and, if it may, which to preempt); the engine acts on those
decisions (``eng.start``, ``eng.preempt_lower``) and keeps all accounting.

What a policy may read of the engine is :class:`EngineView`, a typed
read-only view (a Protocol the engine satisfies as it is, so its hot loop
is untouched): ``gpus[j]``, ``prio[j]``, ``tenant[j]``, ``state[j]``
(``QUEUED`` = waiting), ``avail()`` (GPUs a job may take now),
``fits(j, now)`` and ``shape_ok(g)`` (free GPUs and the gang placement
rule), ``expired(j, now)`` (drops a job that waited past its ``max_wait_s``),
``est_end_bin(j, now)``, ``releases`` (Fenwick tree of GPUs released per
time bin), ``tenant_busy[t]``, ``running_by_prio`` and ``tenant_quota``
(tenant code -> GPUs; set by ``simulate_cluster``). A test checks that the
policies use nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = ["QUEUED", "EngineView", "Policy", "ReleaseBins"]

QUEUED = 1


class ReleaseBins(Protocol):
    """GPUs expected to be released per time bin (a Fenwick tree)."""

    @property
    def n(self) -> int: ...

    def prefix(self, i: int) -> int: ...

    def first_reaching(self, target: int) -> int: ...


class EngineView(Protocol):
    """What a scheduling policy may read of the engine, and the two actions it may ask for."""

    @property
    def gpus(self) -> Sequence[int]: ...

    @property
    def prio(self) -> Sequence[int]: ...

    @property
    def tenant(self) -> Sequence[int]: ...

    @property
    def state(self) -> Sequence[int]: ...

    @property
    def tenant_busy(self) -> Sequence[int]: ...

    @property
    def running_by_prio(self) -> Mapping[int, Mapping[int, None]]: ...

    @property
    def releases(self) -> ReleaseBins: ...

    @property
    def tenant_quota(self) -> Mapping[int, int] | None: ...

    def avail(self) -> int: ...

    def fits(self, j: int, now: float) -> bool: ...

    def shape_ok(self, g: int) -> bool: ...

    def expired(self, j: int, now: float) -> bool: ...

    def est_end_bin(self, j: int, now: float) -> int: ...

    def start(self, j: int, now: float) -> None: ...

    def preempt_lower(self, prio: int, g: int, now: float) -> bool: ...


class Policy:
    """Base class: one instance per run."""

    name = "base"

    def __init__(self, eng: EngineView, depth: int = 100) -> None:
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
