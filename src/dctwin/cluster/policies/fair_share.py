"""Fair share across tenants: the tenant holding the fewest GPUs goes next.

Each tenant has its own FIFO queue. On each pass the tenant with the fewest
busy GPUs (ties: first seen) offers its oldest job; if that job does not fit,
the pass stops, so a large job of an under-served tenant is not starved.
"""

from __future__ import annotations

from dctwin.cluster.policies.tenant_queues import TenantQueues

__all__ = ["FairShare"]


class FairShare(TenantQueues):
    name = "fair_share"

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        busy = eng.tenant_busy
        while True:
            best_t, best_j = -1, -1
            for t, q in self.qs.items():
                j = self._head(q, now)
                if j >= 0 and (best_t < 0 or busy[t] < busy[best_t]):
                    best_t, best_j = t, j
            if best_j < 0 or not eng.fits(best_j, now):
                return
            self.qs[best_t].popleft()
            eng.start(best_j, now)
