"""Which domains a placement takes: the rules written out on a plain list of free GPUs per domain, the
lowest domain index first within a level (a level: the domains with the same free count), replayed on
random histories against ``topology.place``, ``Domains.take_packed``, the inference grant/return and the
per-type views of ``TypedDomains``."""

from __future__ import annotations

import random

import pytest

from dctwin.cluster.placement import topology
from dctwin.cluster.placement.domains import Domains
from dctwin.cluster.placement.inference import grant_inference, return_inference
from dctwin.cluster.placement.log import PlacementLog
from dctwin.cluster.placement.typed import TypedDomains


def _lowest(free: list[int], level: int, ok) -> int:
    """The lowest domain index with exactly ``level`` free GPUs (among domains ``ok`` accepts), else -1."""
    return next((d for d, f in enumerate(free) if f == level and ok(d)), -1)


def _ref_place(free: list[int], size: int, gpus: int, ok=lambda d: True) -> list[list[int]]:
    """Topology placement written out: a job of at most one domain goes to the tightest level that holds it;
    a larger one (or one that no level holds) takes from the fullest level that is at most what it still needs
    (whole domains first), each time the lowest index of that level."""
    need, out = gpus, []
    while need > 0:
        if need <= size:
            for level in range(need, size + 1):
                d = _lowest(free, level, ok)
                if d >= 0:
                    free[d] -= need
                    out.append([d, need])
                    return out
        level = min(size, need) if need > size else need - 1
        while _lowest(free, level, ok) < 0:
            level -= 1
        d = _lowest(free, level, ok)
        free[d] -= level
        out.append([d, level])
        need -= level
    return out


def _ref_packed(free: list[int], n: int) -> list[list[int]]:
    """Packed (inference) placement written out: the level with the fewest free GPUs first, lowest index."""
    out = []
    while n > 0:
        level = min(f for f in free if f > 0)
        d = free.index(level)
        k = min(level, n)
        free[d] -= k
        out.append([d, k])
        n -= k
    return out


def _random_want(rng: random.Random, size: int, free_total: int) -> int:
    return min(free_total, rng.choice([1, 2, 3, size - 1, size, size + 1, 2 * size, 5 * size + 3, 40 * size]))


@pytest.mark.parametrize("size", [8, 72])
@pytest.mark.parametrize("seed", range(5))
def test_placements_follow_the_written_out_rule(seed, size):
    rng = random.Random(seed)
    gpus = 600 * 8 if size == 8 else 40 * 72
    dom = Domains(size)
    dom.grow_to(gpus - 5)                     # a last partial domain
    free = list(dom.free)
    held: list[list[list[int]]] = []
    inf: dict[int, int] = {}
    log = PlacementLog()
    multi = 0
    for _ in range(1500):
        r = rng.random()
        if held and (r < 0.4 or dom.total_free < size):
            for d, k in held.pop(rng.randrange(len(held))):
                dom.give(d, k) if rng.random() < 0.5 else dom.release([[d, k]])
                free[d] += k
        elif r < 0.55 and dom.total_free:
            n = rng.randint(1, min(dom.total_free, 3 * size))
            before = dict(inf)
            grant_inference(dom, inf, log, 0.0, n)
            want = _ref_packed(free, n)
            got = {d: inf[d] - before.get(d, 0) for d in inf if inf[d] != before.get(d, 0)}
            assert got == {d: k for d, k in want}
        elif r < 0.65 and inf:
            y = rng.randint(1, sum(inf.values()))
            order = list(inf.items())            # oldest pieces first
            return_inference(dom, inf, log, 0.0, y)
            for d, c in order:
                k = min(c, y)
                free[d] += k
                y -= k
                if y == 0:
                    break
        else:
            want_n = _random_want(rng, size, dom.total_free)
            if want_n < 1:
                continue
            if rng.random() < 0.3:
                got, want = dom.take_packed(want_n), _ref_packed(free, want_n)
            else:
                got, want = topology.place(dom, want_n), _ref_place(free, size, want_n)
            assert got == want
            multi += len(got) > 3
            held.append(got)
        assert dom.free == free
        assert dom.count == [0] + [free.count(k) for k in range(1, size + 1)]
    assert multi > 10, "some allocations span several domains"


@pytest.mark.parametrize("seed", range(4))
def test_typed_views_follow_the_written_out_rule(seed):
    rng = random.Random(seed)
    plan = [rng.choice([4, 8]) for _ in range(300)]
    types = [rng.randrange(3) for _ in plan]
    dom = TypedDomains(plan, types, ["a", "b", "c"])
    dom.grow_to(sum(plan))
    free = list(dom.free)
    held = []
    for _ in range(1200):
        if held and (rng.random() < 0.45 or dom.total_free < 16):
            for d, k in held.pop(rng.randrange(len(held))):
                dom.give(d, k)
                free[d] += k
            continue
        t = rng.randrange(3)
        view = dom.views[t]
        n = min(view.total_free, rng.choice([1, 3, 4, 7, 8, 9, 24, 50]))
        if n < 1:
            continue
        got = topology.place(view, n)
        assert got == _ref_place(free, 8, n, ok=lambda d, t=t: types[d] == t)
        held.append(got)
        for v, tt in zip(dom.views, range(3), strict=True):
            assert v.count == [0] + [sum(1 for d, f in enumerate(free) if f == k and types[d] == tt)
                                     for k in range(1, 9)]


def test_a_domain_leaving_and_rejoining_a_level_keeps_one_heap_entry():
    dom = Domains(8)
    dom.grow_to(8 * 50)
    for _ in range(200):                      # domain 49 leaves level 8 and comes back, over and over
        dom.take(49, 8)
        dom.give(49, 8)
    assert len(dom.heaps[8]) == 50
    assert dom.first(8) == 0
