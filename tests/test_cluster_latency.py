"""Scheduler attempt latency: the fit recovers a known retry comb; the cluster run applies the delays."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from dctwin.cluster import simulate_cluster
from dctwin.cluster.latency import draw_delays, fit_latency, retry_period_s
from dctwin.config.cluster import SchedulerConfig
from dctwin.rng import stream
from test_cluster_helpers import run_small

TRUE = {"retry_s": 30.0, "first_attempt_fail_share": 0.3,
        "retries_mixture": {"weight_short": 0.8, "continue_short": 0.4, "continue_long": 0.9}}


def _waits(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bind = rng.gamma(2.0, 1.0, n)  # a few seconds to bind
    mix = TRUE["retries_mixture"]
    cont = np.where(rng.random(n) < mix["weight_short"], mix["continue_short"], mix["continue_long"])
    k = rng.geometric(1 - cont) * (rng.random(n) < TRUE["first_attempt_fail_share"])
    return bind + k * TRUE["retry_s"]


def test_fit_recovers_a_known_comb():
    m = fit_latency(_waits(40_000))
    assert m["retry_s"] == pytest.approx(30.0, abs=0.5)
    assert m["first_attempt_fail_share"] == pytest.approx(0.3, abs=0.01)
    mix = m["retries_mixture"]
    assert mix["weight_short"] == pytest.approx(0.8, abs=0.05)
    assert mix["continue_short"] == pytest.approx(0.4, abs=0.05)
    assert mix["continue_long"] == pytest.approx(0.9, abs=0.02)
    d = draw_delays(m, np.random.default_rng(1), 40_000)
    ref = _waits(40_000, seed=2)
    for q in (50, 75, 90, 99):
        assert np.percentile(d, q) == pytest.approx(np.percentile(ref, q), rel=0.1, abs=1.0)


def test_no_comb_no_model():
    assert fit_latency(np.random.default_rng(0).exponential(100.0, 5000)) is None
    assert fit_latency(np.ones(10)) is None
    assert np.isnan(retry_period_s(np.zeros(50))[0])


def _with_latency(monkeypatch, model):
    import test_cluster_helpers as h

    monkeypatch.setattr(h, "simulate_cluster", functools.partial(simulate_cluster, latency=model))


def test_cluster_run_applies_delays_in_job_order(monkeypatch):
    """Ample GPUs: each job's wait is exactly its drawn delay, jobs keep their table order."""
    m = fit_latency(_waits(20_000))
    rows = [{"submit_s": 10.0 * i, "gpus": 1, "duration_s": 600.0, "tenant": f"t{i % 3}"} for i in range(200)]
    assert np.all(run_small(rows, gpus=512).jobs["wait_s"].to_numpy() == 0.0)
    _with_latency(monkeypatch, m)
    r = run_small(rows, gpus=512)
    expect = draw_delays(m, stream(7, "cluster.latency"), len(rows))
    np.testing.assert_allclose(r.jobs["wait_s"].to_numpy(), expect, atol=1e-6)
    assert list(r.jobs["job_id"]) == list(range(200)) and (r.jobs["state"] == "completed").all()
    assert SchedulerConfig().latency_path is None


def test_delays_and_capacity_add_up(monkeypatch):
    """One GPU: each job fails one attempt (100 s retry), then still waits its turn for the GPU."""
    bind = {"body_p": 0.9, "body_quantiles_s": [1e-3] * 91, "tail_survival": [0.05], "tail_quantiles_s": [1e-3],
            "max_s": 1e-3, "jobs": 1}
    m = {"retry_s": 100.0, "first_attempt_fail_share": 1.0, "bind": bind,
         "retries_mixture": {"weight_short": 1.0, "continue_short": 0.0, "continue_long": 0.0}}
    _with_latency(monkeypatch, m)
    r = run_small([{"submit_s": 0, "gpus": 1, "duration_s": 1000}, {"submit_s": 50, "gpus": 1, "duration_s": 1000}],
                  gpus=1)
    assert r.jobs["start_s"].tolist() == pytest.approx([100.0, 1100.0])


def test_waits_all_on_the_retry_comb_give_no_model_not_a_crash():
    # every recorded wait a whole number of retry periods (no first-attempt binds): the bind fit got an empty
    # sample and `dctwin workload fit` ended in an IndexError traceback
    waits = np.tile([10.0, 60.0], 100)
    assert fit_latency(waits) is None
