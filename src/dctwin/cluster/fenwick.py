"""A Fenwick (binary indexed) tree over time bins: GPUs released per bin.

EASY backfill asks "when will enough GPUs be free for the head job?": the
first bin where the running jobs' releases sum to the shortfall. Both the
update and that search cost O(log n) instead of sorting running jobs.
"""

from __future__ import annotations

__all__ = ["Fenwick"]


class Fenwick:
    """Prefix sums over ``n`` integer bins with ``add`` and ``first_reaching``."""

    __slots__ = ("n", "top", "tree")

    def __init__(self, n: int) -> None:
        self.n = n
        self.tree = [0] * (n + 1)
        top = 1
        while top * 2 <= n:
            top *= 2
        self.top = top

    def add(self, i: int, v: int) -> None:
        """Add ``v`` to bin ``i`` (0-based)."""
        i += 1
        n = self.n
        tree = self.tree
        while i <= n:
            tree[i] += v
            i += i & -i

    def prefix(self, i: int) -> int:
        """Sum of bins ``0..i`` inclusive."""
        i += 1
        s = 0
        tree = self.tree
        while i > 0:
            s += tree[i]
            i -= i & -i
        return s

    def first_reaching(self, x: int) -> int:
        """Smallest bin ``i`` with ``prefix(i) >= x``; ``n`` when no bin reaches ``x`` (x > 0)."""
        pos = 0
        rem = x
        step = self.top
        tree = self.tree
        n = self.n
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] < rem:
                pos = nxt
                rem -= tree[nxt]
            step >>= 1
        return pos  # 0-based index of the bin where the sum reaches x
