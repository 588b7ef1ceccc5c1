"""Per-tenant quotas: each tenant has its own FIFO queue and may hold at most its quota of GPUs.

Like capacity queues in Kubernetes Kueue or YARN (without borrowing): a tenant
at its quota waits even while other GPUs stand idle, and one tenant's queue
never blocks another's. On each pass the oldest head job (by queue entry) of
the tenants that are under quota and whose head fits the free GPUs starts;
within a tenant, order is FIFO (a head that does not fit holds its tenant's
queue). Quotas are ``eng.tenant_quota`` (tenant code -> GPUs), set by
``simulate_cluster`` from ``scheduler.tenant_quota_share``; tenants without a
quota are limited only by free GPUs.
"""

from __future__ import annotations

from dctwin.cluster.policies.base import EngineView
from dctwin.cluster.policies.tenant_queues import TenantQueues

__all__ = ["TenantQuota"]


class TenantQuota(TenantQueues):
    name = "tenant_quota"

    def __init__(self, eng: EngineView, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self.order = 0
        self.entered: dict[int, int] = {}  # job -> queue entry number (FIFO across tenants)

    def push(self, j: int) -> None:
        self.entered[j] = self.order
        self.order += 1
        super().push(j)

    def requeue(self, j: int) -> None:
        self.entered[j] = -1 - self.order  # a stopped job goes before everything queued
        self.order += 1
        super().requeue(j)

    def _dropped(self, j: int) -> None:
        self.entered.pop(j, None)

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        busy, gpus = eng.tenant_busy, eng.gpus
        quota = getattr(eng, "tenant_quota", None) or {}  # set by simulate_cluster
        while True:
            best_t, best_j = -1, -1
            for t, q in self.qs.items():
                j = self._head(q, now)
                if j < 0:
                    continue
                room = quota.get(t)
                if (room is not None and busy[t] + gpus[j] > room) or not eng.fits(j, now):
                    continue
                if best_j < 0 or self.entered[j] < self.entered[best_j]:
                    best_t, best_j = t, j
            if best_j < 0:
                return
            self.qs[best_t].popleft()
            self.entered.pop(best_j, None)
            eng.start(best_j, now)
