"""Free GPUs per scale-up (NVLink) domain, bucketed by free count.

``buckets[k]`` holds the domains with exactly ``k`` free GPUs (k >= 1), so
"a domain with at least r free" or "the emptiest domain" is a scan over at
most ``size`` levels, not over every domain. A GPU is either free, held by
one allocation, or down: ``free[d]`` never leaves ``0..cap[d]`` (checked).
"""

from __future__ import annotations

from itertools import islice

__all__ = ["Domains"]


class Domains:
    """Scale-up domains of ``size`` GPUs each (the last one may be partial), or of the sizes in ``plan``
    (a list of GPUs per domain, e.g. a trace's nodes, in the order they come online; ``size`` = its largest)."""

    __slots__ = ("buckets", "cap", "free", "plan", "size", "total_free", "total_gpus")

    def __init__(self, size: int | list[int]) -> None:
        self.plan = [int(x) for x in size] if isinstance(size, list) else None
        if self.plan is not None:
            if not self.plan or min(self.plan) < 1:
                raise ValueError("every domain of a domain plan needs at least 1 GPU")
            size = max(self.plan)
        if size < 1:
            raise ValueError(f"domain size ({size}) must be at least 1 GPU")
        self.size = size
        self.free: list[int] = []
        self.cap: list[int] = []
        self.buckets: list[set[int]] = [set() for _ in range(size + 1)]
        self.total_free = 0
        self.total_gpus = 0

    def grow_to(self, gpus: int) -> int:
        """Bring GPUs online up to ``gpus`` in total; returns how many were added."""
        added = 0
        plan = self.plan
        if plan is not None and gpus > sum(plan):
            raise ValueError(f"{gpus} GPUs online but the domain plan holds {sum(plan)}")
        while self.total_gpus < gpus:
            d = len(self.cap) - 1
            if self.cap and self.cap[-1] < (plan[d] if plan else self.size):
                k = min((plan[d] if plan else self.size) - self.cap[-1], gpus - self.total_gpus)
                self.cap[d] += k
                self.give(d, k)
            else:
                k = min(plan[d + 1] if plan else self.size, gpus - self.total_gpus)
                self.free.append(0)
                self.cap.append(k)
                self.give(len(self.cap) - 1, k)
            self.total_gpus += k
            added += k
        return added

    def take(self, d: int, n: int) -> None:
        """Mark ``n`` free GPUs of domain ``d`` as used."""
        f = self.free[d]
        if n > f:
            raise AssertionError(f"domain {d}: taking {n} GPUs but only {f} free (double allocation)")
        b = self.buckets
        if f:
            b[f].discard(d)
        f -= n
        self.free[d] = f
        if f:
            b[f].add(d)
        self.total_free -= n

    def give(self, d: int, n: int) -> None:
        """Return ``n`` GPUs of domain ``d`` to the free pool."""
        f = self.free[d]
        if f + n > self.cap[d]:
            raise AssertionError(f"domain {d}: freeing {n} GPUs over its {self.cap[d]} (double free)")
        b = self.buckets
        if f:
            b[f].discard(d)
        f += n
        self.free[d] = f
        b[f].add(d)
        self.total_free += n

    def take_packed(self, n: int) -> list[list[int]]:
        """Take ``n`` GPUs from the fullest domains first (keeps empty domains whole); ``[[d, k], ...]``."""
        out: list[list[int]] = []
        b = self.buckets
        level = 1
        while n > 0:
            while not b[level]:
                level += 1
            # Whole domains leave this level and nothing joins it until the last piece, so the picks are the
            # set's first members in its order: one pass over it, not one scan from its start per pick
            # (a set's iteration walks past every emptied slot: slow once many domains have left it).
            for d in list(islice(b[level], (n - 1) // level + 1)):
                k = level if level < n else n
                self.take(d, k)
                out.append([d, k])
                n -= k
        return out

    def release(self, pieces: list[list[int]]) -> int:
        """Give back every ``[domain, count]`` piece of an allocation; returns the GPUs given back.

        ``give`` inlined (a job's release is on the engine's hot path), same bucket moves in the same order;
        a subclass with its own ``give`` (typed pools) gets one call per piece."""
        k = 0
        if type(self) is not Domains:
            for d, c in pieces:
                self.give(d, c)
                k += c
            return k
        b, free, cap = self.buckets, self.free, self.cap
        for d, c in pieces:
            f = free[d]
            if f + c > cap[d]:
                raise AssertionError(f"domain {d}: freeing {c} GPUs over its {cap[d]} (double free)")
            if f:
                b[f].discard(d)
            f += c
            free[d] = f
            b[f].add(d)
            k += c
        self.total_free += k
        return k
