"""EASY backfill: FIFO, but a later job may start early if it cannot delay the head job.

When the head job does not fit, it gets a reservation at the shadow time:
the first time bin where the running jobs' expected releases cover its
shortfall. A later job (among the next ``depth``) may start now if it fits
and either ends in a bin before the shadow time, or uses only GPUs the head
will not need at that time (the "extra" GPUs). Expected ends are the
failure-free run times (users' estimates are taken as exact).

Speed (docs/profiling.md). The window of the next ``depth`` queue entries is
mostly jobs already started by backfill (they stay in the deque until they
reach its head) or jobs bigger than the free GPUs, and a pass over it was the
hot spot of a one-year run. So the policy keeps the waiting jobs of the
window in a list (``_live``, updated as entries enter at the back, leave at
the front or stop waiting), a pass looks only at those that fit (``avail``
only falls during a pass, so no other job could start), and ``_wmin`` is a
lower bound on their GPUs: while fewer GPUs than that are free, a pass
cannot start anything and returns at once. The decisions are exactly those
of the plain pass over the window.
"""

from __future__ import annotations

from itertools import islice

from dctwin.cluster.policies.base import QUEUED, EngineView
from dctwin.cluster.policies.fifo import Fifo

__all__ = ["EasyBackfill"]


class EasyBackfill(Fifo):
    name = "easy_backfill"

    def __init__(self, eng: EngineView, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self._wmin: int | None = None  # <= GPUs of every waiting job in q[1 : depth + 1]; None = unknown
        self._base = 0                 # absolute position of q[0]: +1 per popleft, -1 per requeue
        self._live: list[tuple[int, int]] | None = None  # (position, job) of the window's waiting jobs
        self._seen = 0                 # last absolute position looked at for ``_live``

    # The bound stays valid as jobs leave the window or stop waiting; it is
    # lowered for each job that enters the window and dropped on a requeue.
    def push(self, j: int) -> None:
        q = self.q
        q.append(j)
        w = self._wmin
        if w is not None and 2 <= len(q) <= self.depth + 1:
            g = self.eng.gpus[j]
            if g < w:
                self._wmin = g

    def requeue(self, j: int) -> None:
        self.q.appendleft(j)
        self._base -= 1
        self._wmin = None
        self._live = None

    def _popleft(self) -> None:
        q = self.q
        q.popleft()
        self._base += 1
        w = self._wmin
        if w is not None and len(q) > self.depth:
            g = self.eng.gpus[q[self.depth]]
            if g < w:
                self._wmin = g

    def _window_live(self) -> list[tuple[int, int]]:
        """(position, job) of every entry of q[1 : depth + 1] still waiting, in queue order.

        A job only stops waiting while it sits in the queue (a requeue, which
        could make an entry wait again, rebuilds the list), so the list is kept
        by dropping entries that left at the front or stopped waiting and adding
        the entries that came into the window at the back.
        """
        q = self.q
        state = self.eng.state
        base = self._base
        hi = base + min(self.depth, len(q) - 1)
        live = self._live
        if live is None:
            live = [(base + i, j) for i, j in enumerate(islice(q, 1, self.depth + 1), 1) if state[j] == QUEUED]
        else:
            lo = base + 1
            k = 0
            n = len(live)
            while k < n and live[k][0] < lo:
                k += 1
            live = [e for e in live[k:] if state[e[1]] == QUEUED]
            for a in range(max(self._seen + 1, lo), hi + 1):
                j = q[a - base]
                if state[j] == QUEUED:
                    live.append((a, j))
        self._live = live
        self._seen = hi  # never falls between rebuilds: the window's last position only moves back
        return live

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        gpus = eng.gpus
        q = self.q
        while True:
            head = self._head(now)
            if head < 0:
                return
            if eng.fits(head, now):
                self._popleft()
                eng.start(head, now)
                continue
            break
        avail = eng.avail()
        if avail <= 0:
            return
        state = eng.state
        if released:
            w = self._wmin
            if w is not None and w > avail:
                return
            live = self._window_live()
            cands = [j for _, j in live if gpus[j] <= avail]
            if not cands:
                self._wmin = min([gpus[j] for _, j in live], default=1 << 62)
                return
        elif new and len(q) <= self.depth + len(new):
            cands = [j for j in new if state[j] == QUEUED and gpus[j] <= avail]
            if not cands:
                return
        else:
            return
        rel = eng.releases
        shadow = rel.first_reaching(gpus[head] - avail)
        extra = avail + (rel.prefix(shadow) if shadow < rel.n else rel.prefix(rel.n - 1)) - gpus[head]
        for j in cands:
            g = gpus[j]
            if j == head or state[j] != QUEUED or g > avail:
                continue
            if eng.expired(j, now):
                continue
            if g > extra and eng.est_end_bin(j, now) >= shadow:
                continue  # starts by neither rule below, whatever its shape: most candidates of a long queue
            if not eng.shape_ok(j):
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
