"""EASY backfill: FIFO, but a later job may start early if it cannot delay the head job.

When the head job does not fit, it gets a reservation at the shadow time:
the first time bin where the running jobs' expected releases cover its
shortfall. A later job (among the next ``depth``) may start now if it fits
and either ends in a bin before the shadow time, or uses only GPUs the head
will not need at that time (the "extra" GPUs). Expected ends are the
failure-free run times (users' estimates are taken as exact).
"""

from __future__ import annotations

from itertools import islice

from dctwin.cluster.policies.base import QUEUED
from dctwin.cluster.policies.fifo import Fifo

__all__ = ["EasyBackfill"]


class EasyBackfill(Fifo):
    name = "easy_backfill"

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        gpus = eng.gpus
        q = self.q
        while True:
            head = self._head(now)
            if head < 0:
                return
            avail = eng.avail()
            if gpus[head] <= avail:
                q.popleft()
                eng.start(head, now)
                continue
            break
        if avail <= 0:
            return
        if released:
            cands = islice(q, 1, self.depth + 1)
        elif new and len(q) <= self.depth + len(new):
            cands = new
        else:
            return
        rel = eng.releases
        shadow = rel.first_reaching(gpus[head] - avail)
        extra = avail + (rel.prefix(shadow) if shadow < rel.n else rel.prefix(rel.n - 1)) - gpus[head]
        state = eng.state
        for j in cands:
            g = gpus[j]
            if j == head or state[j] != QUEUED or g > avail:
                continue
            if eng.expired(j, now):
                continue
            if eng.est_end_bin(j, now) < shadow:
                eng.start(j, now)
                avail -= g
            elif g <= extra:
                eng.start(j, now)
                avail -= g
                extra -= g
            else:
                continue
            if avail <= 0:
                return
