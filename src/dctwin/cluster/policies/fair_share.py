"""Fair share across tenants: the tenant holding the fewest GPUs goes next.

Each tenant has its own FIFO queue. On each pass the tenant with the fewest
busy GPUs (ties: first seen) offers its oldest job; if that job does not fit,
the pass stops, so a large job of an under-served tenant is not starved.
"""

from __future__ import annotations

from collections import deque

from dctwin.cluster.policies.base import QUEUED, Policy

__all__ = ["FairShare"]


class FairShare(Policy):
    name = "fair_share"

    def __init__(self, eng, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self.qs: dict[int, deque[int]] = {}

    def push(self, j: int) -> None:
        t = self.eng.tenant[j]
        q = self.qs.get(t)
        if q is None:
            q = self.qs[t] = deque()
        q.append(j)

    def requeue(self, j: int) -> None:
        t = self.eng.tenant[j]
        q = self.qs.get(t)
        if q is None:
            q = self.qs[t] = deque()
        q.appendleft(j)

    def waiting(self) -> int:
        return sum(len(q) for q in self.qs.values())

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        state = eng.state
        busy = eng.tenant_busy
        while True:
            best_t, best_j = -1, -1
            for t, q in self.qs.items():
                while q and (state[q[0]] != QUEUED or eng.expired(q[0], now)):
                    q.popleft()
                if q and (best_t < 0 or busy[t] < busy[best_t]):
                    best_t, best_j = t, q[0]
            if best_j < 0 or not eng.fits(best_j, now):
                return
            self.qs[best_t].popleft()
            eng.start(best_j, now)
