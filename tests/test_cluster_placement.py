"""Placement: topology-aware uses the fewest NVLink domains; no GPU is handed out twice."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dctwin.cluster import get_placement
from dctwin.cluster.placement import Domains
from dctwin.errors import InputError

topology = get_placement("topology")
first_fit = get_placement("first_fit")


def fresh(n_domains=6, size=72):
    d = Domains(size)
    d.grow_to(n_domains * size)
    return d


@pytest.mark.parametrize("gpus", [1, 8, 71, 72, 73, 144, 200, 432])
def test_topology_uses_minimum_domains_on_empty_cluster(gpus):
    d = fresh()
    pieces = topology(d, gpus)
    assert sum(c for _, c in pieces) == gpus
    assert len(pieces) == math.ceil(gpus / 72)
    assert d.total_free == 6 * 72 - gpus


def test_topology_keeps_whole_domains_and_best_fits_remainder():
    d = fresh(3)
    d.take(0, 60)                      # domain 0: 12 free
    d.take(1, 30)                      # domain 1: 42 free; domain 2: 72 free
    assert topology(d, 10) == [[0, 10]]          # tightest domain that holds it
    assert topology(d, 72) == [[2, 72]]          # a whole domain, not split
    assert d.free == [2, 42, 0]


def test_topology_fragmented_uses_fewest_pieces():
    d = fresh(4)
    for i, used in enumerate([50, 40, 30, 70]):   # free 22, 32, 42, 2
        d.take(i, used)
    pieces = topology(d, 60)
    assert sum(c for _, c in pieces) == 60
    assert len(pieces) == 2                       # 42 + 18 (minimum possible)
    first = first_fit(fresh_from(d_free=[22, 32, 42, 2]), 60)
    assert len(first) == 3                        # first fit walks domains 0, 1, 2


def fresh_from(d_free):
    d = fresh(len(d_free))
    for i, f in enumerate(d_free):
        d.take(i, 72 - f)
    return d


def test_double_allocation_and_double_free_are_refused():
    d = fresh(1, 8)
    d.take(0, 8)
    with pytest.raises(AssertionError, match="double allocation"):
        d.take(0, 1)
    d.give(0, 8)
    with pytest.raises(AssertionError, match="double free"):
        d.give(0, 1)


def test_partial_last_domain_and_growth():
    d = Domains(72)
    d.grow_to(100)
    assert d.cap == [72, 28]
    d.grow_to(150)
    assert d.cap == [72, 72, 6] and d.total_free == 150


def test_random_place_release_conserves_gpus():
    rng = np.random.default_rng(0)
    d = fresh(10)
    held = []
    for _ in range(2000):
        if held and (rng.random() < 0.5 or d.total_free < 80):
            d.release(held.pop(rng.integers(len(held))))
        else:
            held.append(topology(d, int(rng.integers(1, 80))))
        assert d.total_free + sum(c for p in held for _, c in p) == 720
        assert all(0 <= f <= 72 for f in d.free)


def test_unknown_placement_lists_valid():
    with pytest.raises(InputError, match="first_fit, topology"):
        get_placement("random")
