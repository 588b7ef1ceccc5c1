"""Topology placement and inference packing take whole domains in one pass over a bucket: the same
domains, in the same order, as one ``next(iter(bucket))`` per piece (the rule they replaced)."""

from __future__ import annotations

import random

import pytest

from dctwin.cluster.placement import topology
from dctwin.cluster.placement.domains import Domains


def _place_one_by_one(dom: Domains, gpus: int) -> list[list[int]]:
    """Topology placement written out with one bucket lookup per piece."""
    b, size, need, out = dom.buckets, dom.size, gpus, []
    while need > 0:
        if need <= size:
            for level in range(need, size + 1):
                if b[level]:
                    d = next(iter(b[level]))
                    dom.take(d, need)
                    out.append([d, need])
                    return out
        level = size if need > size else need - 1
        while not b[level]:
            level -= 1
        d = next(iter(b[level]))
        dom.take(d, level)
        out.append([d, level])
        need -= level
    return out


def _packed_one_by_one(dom: Domains, n: int) -> list[list[int]]:
    """Inference packing written out with one bucket lookup per piece."""
    b, out, level = dom.buckets, [], 1
    while n > 0:
        while not b[level]:
            level += 1
        d = next(iter(b[level]))
        k = level if level < n else n
        dom.take(d, k)
        out.append([d, k])
        n -= k
    return out


def _history(seed: int, size: int, gpus: int, steps: int, one_by_one: bool) -> list[list[list[int]]]:
    """Random takes and gives on a fresh cluster; every allocation made, in order. The same seed replays
    the same operations, so both rules see sets with the same insertion and deletion history."""
    rng = random.Random(seed)
    dom = Domains(size)
    dom.grow_to(gpus)
    held: list[list[list[int]]] = []
    made: list[list[list[int]]] = []
    for _ in range(steps):
        if held and (rng.random() < 0.45 or dom.total_free < size):
            for d, k in held.pop(rng.randrange(len(held))):
                dom.give(d, k)
            continue
        want = min(dom.total_free, rng.choice([1, 2, 3, size - 1, size, size + 1, 2 * size, 5 * size + 3, 40 * size]))
        if want < 1:
            continue
        if rng.random() < 0.3:
            got = _packed_one_by_one(dom, want) if one_by_one else dom.take_packed(want)
        else:
            got = _place_one_by_one(dom, want) if one_by_one else topology.place(dom, want)
        held.append(got)
        made.append(got)
    return made


@pytest.mark.parametrize("size", [8, 72])
@pytest.mark.parametrize("seed", range(6))
def test_pieces_equal_one_lookup_per_piece(seed, size):
    gpus = 4736 * 8 if size == 8 else 300 * 72
    want = _history(seed, size, gpus, 1500, one_by_one=True)
    got = _history(seed, size, gpus, 1500, one_by_one=False)
    assert got == want
    assert any(len(a) > 3 for a in want), "some allocations span several domains"
