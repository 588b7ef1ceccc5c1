"""A small discrete-event kernel: one heap of ``(time, seq, kind, a, b)`` tuples.

Ties in time resolve by insertion order (``seq``), so a run replays the same
way every time. Events are plain tuples of numbers (no object per event); a
handler is a function ``handler(kernel, t, kind, a, b)`` that may schedule more.
The cluster simulator inlines the same discipline in its hot loop.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

__all__ = ["Kernel"]


class Kernel:
    """Event queue with a clock: ``schedule``, ``run``."""

    __slots__ = ("heap", "now", "processed", "seq")

    def __init__(self) -> None:
        self.now = 0.0
        self.heap: list[tuple] = []
        self.seq = 0
        self.processed = 0

    def schedule(self, t: float, kind: int, a: int = 0, b: int = 0) -> None:
        """Add an event at time ``t`` [s]; ``t`` must not lie before ``now``."""
        if t < self.now:
            raise ValueError(f"event time ({t}) must not be before the current simulation time ({self.now})")
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def run(self, handler: Callable[[Kernel, float, int, int, int], None], until: float = math.inf) -> int:
        """Process events in time order until the queue empties or ``until`` [s]; returns events processed."""
        heap = self.heap
        pop = heapq.heappop
        n = 0
        while heap and heap[0][0] < until:
            t, _, kind, a, b = pop(heap)
            self.now = t
            handler(self, t, kind, a, b)
            n += 1
        self.processed += n
        if until != math.inf:
            self.now = max(self.now, until)
        return n
