"""First in, first out: the oldest waiting job starts first; nothing passes it."""

from __future__ import annotations

from collections import deque

from dctwin.cluster.policies.base import QUEUED, EngineView, Policy

__all__ = ["Fifo"]


class Fifo(Policy):
    name = "fifo"

    def __init__(self, eng: EngineView, depth: int = 100) -> None:
        super().__init__(eng, depth)
        self.q: deque[int] = deque()

    def push(self, j: int) -> None:
        self.q.append(j)

    def requeue(self, j: int) -> None:
        self.q.appendleft(j)

    def waiting(self) -> int:
        return len(self.q)

    def _popleft(self) -> None:
        """Drop the queue's first entry (subclasses that index the queue keep their offset here)."""
        self.q.popleft()

    def _head(self, now: float) -> int:
        """The first live queued job (stale entries dropped), or -1."""
        q = self.q
        eng = self.eng
        state = eng.state
        while q:
            j = q[0]
            if state[j] != QUEUED or eng.expired(j, now):
                self._popleft()
                continue
            return j
        return -1

    def schedule(self, now: float, released: bool, new: list[int]) -> None:
        eng = self.eng
        while True:
            j = self._head(now)
            if j < 0 or not eng.fits(j, now):
                return
            self.q.popleft()
            eng.start(j, now)
