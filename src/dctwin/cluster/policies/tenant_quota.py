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

from collections import deque

from dctwin.cluster.policies.base import QUEUED, Policy

__all__ = ["TenantQuota"]


class TenantQuota(Policy):
    name = "tenant_quota"

    def __init__(self, eng, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self.qs: dict[int, deque[int]] = {}
        self.order = 0
        self.entered: dict[int, int] = {}  # job -> queue entry number (FIFO across tenants)

    def _queue(self, j: int) -> deque[int]:
        t = self.eng.tenant[j]
        q = self.qs.get(t)
        if q is None:
            q = self.qs[t] = deque()
        return q

    def push(self, j: int) -> None:
        self.entered[j] = self.order
        self.order += 1
        self._queue(j).append(j)

    def requeue(self, j: int) -> None:
        self.entered[j] = -1 - self.order  # a stopped job goes before everything queued
        self.order += 1
        self._queue(j).appendleft(j)

    def waiting(self) -> int:
        return sum(len(q) for q in self.qs.values())

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        state, busy, gpus = eng.state, eng.tenant_busy, eng.gpus
        quota = getattr(eng, "tenant_quota", None) or {}
        while True:
            best_t, best_j = -1, -1
            for t, q in self.qs.items():
                while q and (state[q[0]] != QUEUED or eng.expired(q[0], now)):
                    self.entered.pop(q.popleft(), None)
                if not q:
                    continue
                j = q[0]
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
