"""The shared part of the per-tenant policies (fair share, tenant quotas): one FIFO queue per tenant."""

from __future__ import annotations

from collections import deque

from dctwin.cluster.policies.base import QUEUED, EngineView, Policy

__all__ = ["TenantQueues"]


class TenantQueues(Policy):
    """Waiting jobs in one FIFO queue per tenant code; a stopped job goes back to the front of its queue."""

    def __init__(self, eng: EngineView, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self.qs: dict[int, deque[int]] = {}

    def _queue(self, j: int) -> deque[int]:
        t = self.eng.tenant[j]
        q = self.qs.get(t)
        if q is None:
            q = self.qs[t] = deque()
        return q

    def push(self, j: int) -> None:
        self._queue(j).append(j)

    def requeue(self, j: int) -> None:
        self._queue(j).appendleft(j)

    def waiting(self) -> int:
        return sum(len(q) for q in self.qs.values())

    def _dropped(self, j: int) -> None:
        """Job ``j`` left its queue without starting (it stopped waiting or waited too long)."""

    def _head(self, q: deque[int], now: float) -> int:
        """The first job of ``q`` still waiting (stale entries dropped), or -1."""
        eng = self.eng
        state = eng.state
        while q and (state[q[0]] != QUEUED or eng.expired(q[0], now)):
            self._dropped(q.popleft())
        return q[0] if q else -1
