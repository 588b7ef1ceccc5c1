"""Priority with preemption: highest ``priority`` first (then submit order).

If the top job does not fit, running jobs of strictly lower priority are
preempted, lowest priority and most recently started first, when that frees
enough GPUs; they lose the work since their last checkpoint and wait again.
Otherwise only jobs of strictly lower priority that fit may pass it (the
top job can take their GPUs back later); jobs of its own priority wait.
"""

from __future__ import annotations

import heapq

from dctwin.cluster.policies.base import QUEUED, EngineView, Policy

__all__ = ["PriorityPreempt"]


class PriorityPreempt(Policy):
    name = "priority_preempt"

    def __init__(self, eng: EngineView, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self.h: list[tuple[int, int]] = []

    def push(self, j: int) -> None:
        heapq.heappush(self.h, (-self.eng.prio[j], j))

    requeue = push

    def waiting(self) -> int:
        return len(self.h)

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        h = self.h
        state = eng.state
        gpus = eng.gpus
        while h:
            _, j = h[0]
            if state[j] != QUEUED or eng.expired(j, now):
                heapq.heappop(h)
                continue
            g = gpus[j]
            if eng.fits(j, now):
                heapq.heappop(h)
                eng.start(j, now)
                continue
            if not eng.preempt_lower(eng.prio[j], g, now, j):
                self._pass_lower(eng.prio[j], j, now, released, new)
                return
            heapq.heappop(h)
            eng.start(j, now)

    def _pass_lower(self, blocked_prio: int, head: int, now: float, released: bool, new: list[int]) -> None:
        """Start lower-priority jobs that fit while the top job is blocked."""
        eng = self.eng
        avail = eng.avail()
        if avail <= 0:
            return
        # the first `depth` heap slots: the top of the heap, cheap and deterministic
        cands = [j for _, j in sorted(self.h[: self.depth])] if released else new
        state, gpus, prio = eng.state, eng.gpus, eng.prio
        for j in cands:
            if j == head or state[j] != QUEUED or prio[j] >= blocked_prio or gpus[j] > avail:
                continue
            if eng.expired(j, now) or not eng.shape_ok(j):
                continue
            eng.start(j, now)
            avail -= gpus[j]
            if avail <= 0:
                return
