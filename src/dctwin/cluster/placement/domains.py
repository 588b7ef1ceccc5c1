"""Free GPUs per scale-up (NVLink) domain, grouped in levels by free count.

``count[k]`` is the number of domains with exactly ``k`` free GPUs (k >= 1), so
"a domain with at least r free" or "the emptiest domain" is a scan over at
most ``size`` levels, not over every domain. A GPU is either free, held by
one allocation, or down: ``free[d]`` never leaves ``0..cap[d]`` (checked).

Pick rule: when a placement wants a domain of a level, it gets the domain of
that level with the lowest index (``first``). Each level keeps a min-heap of
domain indices with lazy deletion: a domain leaving a level leaves its entry
behind, and an entry is dropped when it reaches the top while its domain has
another free count (``queued[k]`` marks the domains with an entry in heap
``k``, so a domain has at most one entry per level). A pick is O(log n) and
does not depend on any set's or dict's iteration order.
"""

from __future__ import annotations

from heapq import heappop, heappush

__all__ = ["Domains", "domain_plan", "enter", "first", "growth"]


def first(lv, level: int) -> int:
    """Lowest-index domain of ``lv`` (a ``Domains`` or a typed view) with exactly ``level`` free GPUs;
    ``lv.count[level]`` must be > 0."""
    h = lv.heaps[level]
    free = lv.free
    d = h[0]
    while free[d] != level:          # stale entry: the domain has left this level
        heappop(h)
        lv.queued[level].discard(d)
        d = h[0]
    return d


def enter(lv, d: int, level: int) -> None:
    """Domain ``d`` now has ``level`` (>= 1) free GPUs: count it, and give it a heap entry if it has none."""
    lv.count[level] += 1
    q = lv.queued[level]
    if d not in q:
        q.add(d)
        heappush(lv.heaps[level], d)


def domain_plan(size: int | list[int]) -> tuple[list[int] | None, int]:
    """(plan, largest domain size) of a ``size`` given as one domain size or a list of GPUs per domain."""
    plan = [int(x) for x in size] if isinstance(size, list) else None
    if plan is not None:
        if not plan or min(plan) < 1:
            raise ValueError("every domain of a domain plan needs at least 1 GPU")
        size = max(plan)
    if size < 1:
        raise ValueError(f"domain size ({size}) must be at least 1 GPU")
    return plan, size


def growth(plan: list[int] | None, size: int, n_dom: int, last_cap: int, online: int, gpus: int):
    """The steps ``(domain, GPUs)`` that bring ``online`` GPUs up to ``gpus``: the last of the ``n_dom`` domains
    (holding ``last_cap``) is filled to its size first, then new domains in order, each of ``size`` GPUs or of
    its size in ``plan``. The rule of both ``Domains`` and ``compiled.ArrayDomains``."""
    if plan is not None and gpus > sum(plan):
        raise ValueError(f"{gpus} GPUs online but the domain plan holds {sum(plan)}")
    while online < gpus:
        d = n_dom - 1
        if d >= 0 and last_cap < (plan[d] if plan else size):
            k = min((plan[d] if plan else size) - last_cap, gpus - online)
            last_cap += k
        else:
            d = n_dom
            k = min(plan[d] if plan else size, gpus - online)
            n_dom += 1
            last_cap = k
        online += k
        yield d, k


class Domains:
    """Scale-up domains of ``size`` GPUs each (the last one may be partial), or of the sizes in ``plan``
    (a list of GPUs per domain, e.g. a trace's nodes, in the order they come online; ``size`` = its largest)."""

    __slots__ = ("cap", "count", "free", "heaps", "plan", "queued", "size", "total_free", "total_gpus")

    def __init__(self, size: int | list[int]) -> None:
        self.plan, size = domain_plan(size)
        self.size = size
        self.free: list[int] = []
        self.cap: list[int] = []
        self.count = [0] * (size + 1)
        self.heaps: list[list[int]] = [[] for _ in range(size + 1)]
        self.queued: list[set[int]] = [set() for _ in range(size + 1)]   # membership only, never iterated
        self.total_free = 0
        self.total_gpus = 0

    def first(self, level: int) -> int:
        """Lowest-index domain with exactly ``level`` free GPUs (one must exist)."""
        return first(self, level)

    def grow_to(self, gpus: int) -> int:
        """Bring GPUs online up to ``gpus`` in total; returns how many were added."""
        added = 0
        last = self.cap[-1] if self.cap else 0
        for d, k in growth(self.plan, self.size, len(self.cap), last, self.total_gpus, gpus):
            if d == len(self.cap):
                self.free.append(0)
                self.cap.append(0)
            self.cap[d] += k
            self.give(d, k)
            self.total_gpus += k
            added += k
        return added

    def take(self, d: int, n: int) -> None:
        """Mark ``n`` free GPUs of domain ``d`` as used."""
        f = self.free[d]
        if n > f:
            raise AssertionError(f"domain {d}: taking {n} GPUs but only {f} free (double allocation)")
        if f:
            self.count[f] -= 1
        f -= n
        self.free[d] = f
        if f:
            enter(self, d, f)
        self.total_free -= n

    def give(self, d: int, n: int) -> None:
        """Return ``n`` GPUs of domain ``d`` to the free pool."""
        f = self.free[d]
        if f + n > self.cap[d]:
            raise AssertionError(f"domain {d}: freeing {n} GPUs over its {self.cap[d]} (double free)")
        if f:
            self.count[f] -= 1
        f += n
        self.free[d] = f
        enter(self, d, f)
        self.total_free += n

    def take_packed(self, n: int) -> list[list[int]]:
        """Take ``n`` GPUs from the fullest domains first (keeps empty domains whole), lowest index first
        within a level; ``[[d, k], ...]``."""
        out: list[list[int]] = []
        c = self.count
        level = 1
        while n > 0:
            while not c[level]:
                level += 1
            d = first(self, level)
            k = level if level < n else n
            self.take(d, k)
            out.append([d, k])
            n -= k
        return out

    def release(self, pieces: list[list[int]]) -> int:
        """Give back every ``[domain, count]`` piece of an allocation; returns the GPUs given back.

        ``give`` inlined (a job's release is on the engine's hot path); a subclass with its own ``give``
        (typed pools) gets one call per piece."""
        k = 0
        if type(self) is not Domains:
            for d, c in pieces:
                self.give(d, c)
                k += c
            return k
        count, free, cap = self.count, self.free, self.cap
        for d, c in pieces:
            f = free[d]
            if f + c > cap[d]:
                raise AssertionError(f"domain {d}: freeing {c} GPUs over its {cap[d]} (double free)")
            if f:
                count[f] -= 1
            f += c
            free[d] = f
            enter(self, d, f)
            k += c
        self.total_free += k
        return k
