"""The event kernel, the Fenwick release profile and the step averaging."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.cluster import Kernel
from dctwin.cluster.fenwick import Fenwick
from dctwin.cluster.series import step_mean


def test_kernel_orders_by_time_then_insertion():
    k = Kernel()
    seen = []
    for t, kind in [(5.0, 1), (1.0, 2), (5.0, 3), (0.0, 4)]:
        k.schedule(t, kind)
    k.run(lambda kern, t, kind, a, b: seen.append((t, kind)))
    assert seen == [(0.0, 4), (1.0, 2), (5.0, 1), (5.0, 3)]


def test_kernel_refuses_the_past_and_stops_at_until():
    k = Kernel()
    k.schedule(10.0, 0)
    k.schedule(20.0, 0)
    assert k.run(lambda *a: None, until=15.0) == 1
    with pytest.raises(ValueError, match="must not be before the current simulation time"):
        k.schedule(5.0, 0)


def test_fenwick_first_reaching_matches_cumsum():
    rng = np.random.default_rng(3)
    vals = rng.integers(0, 5, 200)
    f = Fenwick(200)
    for i, v in enumerate(vals):
        f.add(i, int(v))
    cs = np.cumsum(vals)
    for x in [1, 7, 50, int(cs[-1])]:
        assert f.first_reaching(x) == int(np.argmax(cs >= x))
        assert f.prefix(f.first_reaching(x)) >= x
    assert f.first_reaching(int(cs[-1]) + 1) == 200


def test_step_mean_is_time_weighted():
    # 10 GPUs from t=450 to t=1350 on 900 s steps: half of step 0, half of step 1
    m = step_mean(np.array([450.0, 1350.0]), np.array([10, -10]), 900, 3)
    np.testing.assert_allclose(m, [5.0, 5.0, 0.0])
    assert step_mean(np.array([]), np.array([]), 900, 2).tolist() == [0.0, 0.0]


def test_step_mean_finds_each_edges_last_change_both_ways():
    """Fewer changes than edges are counted among the edges, more are searched: both give
    ``searchsorted(t, edges, 'right') - 1`` exactly (changes on an edge, before 0, past the end, repeated times)."""
    from dctwin.cluster.series import _last_change_at_or_before

    rng = np.random.default_rng(7)
    for case in range(600):
        step_s = float(rng.choice([900.0, 60.0, 1.0, 0.7]))
        n_edges = int(rng.integers(1, 40))
        edges = np.arange(n_edges, dtype=np.float64) * step_s
        n = int(rng.integers(0, 2 * n_edges + 2))
        t = rng.uniform(-step_s, (n_edges + 1) * step_s, n)
        if case % 3 == 0:  # on the edges, and repeated
            t = np.round(t / step_s) * step_s
        t = np.sort(np.concatenate([t, t[: n // 4]]))
        want = np.searchsorted(t, edges, side="right") - 1
        got = _last_change_at_or_before(t, edges)
        assert got.dtype == want.dtype and np.array_equal(got, want), (case, t, edges)
