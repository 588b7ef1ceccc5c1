"""``ArrayDomains``: the domains of ``domains.Domains`` kept in one int64 array and changed by the numba
kernels of ``kernels.py``; the compiled engine path's replacement for ``Domains`` (same rules, same picks,
same log rows: tests/test_engine_paths.py checks both give identical bytes).

It also holds the inference pieces (``Engine.inf_pieces`` in the Python path: a dict in order of arrival)
as a linked list in the array, so a whole grant or give-back is one kernel call.
"""

from __future__ import annotations

import numpy as np

from dctwin.cluster.placement import kernels as kn
from dctwin.cluster.placement.domains import domain_plan, growth

__all__ = ["ArrayDomains", "InferencePieces", "use_compiled"]

_first, _take, _give, _release = kn.fast(kn.first), kn.fast(kn.take), kn.fast(kn.give), kn.fast(kn.release)
_place, _grant, _give_back = kn.fast(kn.place), kn.fast(kn.grant), kn.fast(kn.give_back)


def _check(r: int, what: str) -> int:
    if r < 0:
        raise AssertionError(f"domain {-1 - r}: {what} (double allocation or double free)")
    return r


class ArrayDomains:
    """Scale-up domains of ``size`` GPUs each (or of the sizes in ``plan``), at most ``max_gpus`` GPUs online."""

    __slots__ = ("cap", "count", "free", "n_dom", "out", "plan", "rows", "size", "st", "total_free", "total_gpus")

    def __init__(self, size: int | list[int], max_gpus: int) -> None:
        self.plan, size = domain_plan(size)
        nd = len(self.plan) if self.plan is not None else max(1, -(-max_gpus // size))
        self.size = size
        self.st = np.zeros(kn.state_words(size, nd), dtype=np.int64)
        self.st[:4] = (size, nd, -1, -1)
        f = kn.HEADER
        self.free = self.st[f:f + nd]                        # views: read by the gang rule and the audit
        self.cap = self.st[f + nd:f + 2 * nd]
        self.count = self.st[f + 2 * nd:f + 2 * nd + size + 1]
        self.out = np.zeros(2 * nd, dtype=np.int64)           # pieces of one placement
        self.rows = np.zeros(4 * nd, dtype=np.float64)        # log rows of one grant or give-back
        self.n_dom = 0
        self.total_free = 0
        self.total_gpus = 0

    def grow_to(self, gpus: int) -> int:
        """Bring GPUs online up to ``gpus`` in total (``domains.growth``); returns how many were added."""
        added = 0
        last = int(self.cap[self.n_dom - 1]) if self.n_dom else 0
        for d, k in growth(self.plan, self.size, self.n_dom, last, self.total_gpus, gpus):
            if d == self.n_dom:
                if d >= len(self.cap):
                    raise ValueError(f"{gpus} GPUs online but room was made for {len(self.cap)} domains")
                self.n_dom += 1
            self.cap[d] += k
            self.give(d, k)
            self.total_gpus += k
            added += k
        return added

    def first(self, level: int) -> int:
        return int(_first(self.st, level))

    def take(self, d: int, n: int) -> None:
        _check(_take(self.st, d, n), f"taking {n} GPUs")
        self.total_free -= n

    def give(self, d: int, n: int) -> None:
        _check(_give(self.st, d, n), f"freeing {n} GPUs")
        self.total_free += n

    def place(self, dom, gpus: int) -> list[list[int]]:
        """``topology.place`` (``dom`` is this object: the engine's placement call passes it)."""
        m = _place(self.st, gpus, self.out)
        if m < 0:
            raise AssertionError(f"placement of {gpus} GPUs with only {self.total_free} free")
        self.total_free -= gpus
        o = self.out[:2 * m].tolist()
        return [o] if m == 1 else [o[i:i + 2] for i in range(0, 2 * m, 2)]

    def release(self, pieces: list[list[int]]) -> int:
        """Give back every ``[domain, count]`` piece; returns the GPUs given back."""
        if len(pieces) == 1:
            d, k = pieces[0]
            if _give(self.st, d, k) < 0:
                _check(-1 - d, f"freeing {k} GPUs")
        else:
            flat = np.array(pieces, dtype=np.int64).ravel()
            k = _check(_release(self.st, flat, len(pieces)), "freeing GPUs")
        self.total_free += k
        return k

    def grant_inference(self, log, now: float, n: int) -> None:
        """``inference.grant_inference`` in one kernel call (pieces kept in the array)."""
        m = _grant(self.st, n, now, self.rows)
        self.total_free -= n
        log.block(now, self.rows[:4 * m])

    def return_inference(self, log, now: float, y: int) -> None:
        """``inference.return_inference`` in one kernel call."""
        m = _check(_give_back(self.st, y, now, self.rows), "freeing inference GPUs")
        self.total_free += y
        log.block(now, self.rows[:4 * m])

    def inference_pieces(self) -> dict[int, int]:
        """Inference GPUs per domain in order of arrival (``Engine.inf_pieces`` of the Python path)."""
        st, nd = self.st, len(self.cap)
        held = kn.HEADER + 2 * nd + 2 * (self.size + 1) + 2 * (self.size + 1) * nd
        out, d = {}, int(st[2])
        while d >= 0:
            out[d] = int(st[held + d])
            d = int(st[held + nd + d])
        return out


class InferencePieces:
    """``Engine.inf_pieces`` of the compiled path: a read-only view of the pieces ``ArrayDomains`` keeps."""

    __slots__ = ("dom",)

    def __init__(self, dom: ArrayDomains) -> None:
        self.dom = dom

    def items(self):
        return self.dom.inference_pieces().items()

    def values(self):
        return self.dom.inference_pieces().values()


def use_compiled(eng, domain_gpus) -> None:
    """Give engine ``eng`` the compiled path: ``ArrayDomains``, their topology placement, inference pieces."""
    from dctwin.cluster.placement import topology

    if eng.place is not topology.place:
        raise ValueError("the compiled engine path has the topology placement only")
    eng.dom = ArrayDomains(domain_gpus, max(eng.online, default=0))
    eng.place = eng.dom.place
    eng.inf_pieces = InferencePieces(eng.dom)
