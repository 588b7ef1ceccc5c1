"""The placement log: every piece of GPUs held per scale-up domain, exact against the engine's own series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.cluster import simulate_cluster
from dctwin.cluster.latency import fit_latency
from dctwin.cluster.placement.log import domain_held_per_step
from dctwin.cluster.synthetic import synthetic_jobs
from dctwin.config.cluster import SchedulerConfig
from dctwin.timeline import Timeline
from test_cluster_helpers import job_table, platform, run_small

STEP_S = 900
DAYS = 40
DOMAIN = 8


@pytest.fixture(scope="module")
def run():
    """40 days on 8-GPU domains, a build-out step, inference, a cap dip, frequent failures and preemption."""
    n = DAYS * 96
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, n)
    t = tl.t_s.astype(float)
    online = np.where(t < 10 * 86_400, 300, 604)            # 604: the last domain is partial
    inference = (0.15 + 0.1 * np.sin(2 * np.pi * t / 86_400)) * online
    cap = np.where((t > 20 * 86_400) & (t < 22 * 86_400), 0.6 * online, online)
    jobs = synthetic_jobs(3_000, 604, DAYS * 86_400.0, seed=3, load=0.7)
    cfg = SchedulerConfig(policy="priority_preempt", failures={"rate_scale": 20.0})
    r = simulate_cluster(cfg, tl, online, platform(DOMAIN), jobs, inference, 5, gpu_cap=cap, audit=True)
    return r, online


def test_log_matches_the_series_exactly(run):
    r, online = run
    p = r.placements
    assert list(p.columns) == ["t_s", "job_id", "holder", "domain", "gpus_change"]
    assert set(p["holder"].unique()) == {"job", "inference", "down"}
    n_dom = -(-int(online.max()) // DOMAIN)
    for holder, col in (("job", "gpus_busy_training"), ("inference", "gpus_busy_inference"), ("down", "gpus_down")):
        by_dom = domain_held_per_step(p, STEP_S, len(r.series), n_dom, holder)
        np.testing.assert_allclose(by_dom.sum(axis=1), r.series[col].to_numpy(), rtol=1e-9, atol=1e-6)
    every = domain_held_per_step(p, STEP_S, len(r.series), n_dom, None)
    cap = np.minimum(DOMAIN, np.maximum(0, online[:, None] - DOMAIN * np.arange(n_dom)[None, :]))
    assert (every <= cap + 1e-9).all() and (every >= -1e-9).all()


def test_each_job_holds_its_gpus_and_gives_them_back(run):
    r, _ = run
    p = r.placements[r.placements["holder"] == "job"].sort_values("t_s", kind="stable")
    held = p.groupby(["job_id", "domain"])["gpus_change"].cumsum()
    assert (held >= 0).all()                                       # never gives back more than it took
    total = p.groupby("job_id")["gpus_change"].sum()
    jobs = r.jobs.set_index("job_id")
    holding = jobs["state"].isin(["running_at_end"])
    assert (total[total != 0].index.isin(jobs.index[holding])).all()   # only jobs still running hold GPUs
    first = p.groupby("job_id").agg(t=("t_s", "first"), d=("domain", "first"))
    started = jobs.loc[first.index]
    np.testing.assert_array_equal(first["t"].to_numpy(), started["start_s"].to_numpy())
    np.testing.assert_array_equal(first["d"].to_numpy(), started["first_domain"].to_numpy())
    gpu_s = (-(p["t_s"] * p["gpus_change"]).groupby(p["job_id"]).sum())  # sum over pieces of gpus x held time
    open_ = total[total != 0]
    gpu_s.loc[open_.index] += open_ * DAYS * 86_400.0
    np.testing.assert_allclose(gpu_s.to_numpy(), jobs.loc[gpu_s.index, "gpu_s"].to_numpy(), rtol=1e-9, atol=1e-3)


def test_job_ids_survive_the_queue_order_of_a_latency_model():
    rng = np.random.default_rng(0)
    waits = rng.gamma(2.0, 1.0, 5_000) + 30.0 * rng.geometric(0.5, 5_000) * (rng.random(5_000) < 0.4)
    model = fit_latency(waits)
    rows = [{"submit_s": 10.0 * i, "gpus": int(g), "duration_s": 600.0} for i, g in enumerate(rng.integers(1, 9, 300))]
    tl = Timeline(dt.date(2027, 1, 1), 900, 96)
    cfg = SchedulerConfig(policy="fifo", failures={"enabled": False})
    r = simulate_cluster(cfg, tl, np.full(96, 64), platform(8), job_table(rows), np.zeros(96), 7, latency=model)
    started = r.jobs[r.jobs["start_s"].notna()].set_index("job_id")
    assert (np.diff(started["start_s"].to_numpy()) < 0).any()       # the delays did reorder the queue
    p = r.placements
    first = p.groupby("job_id").agg(t=("t_s", "first"), d=("domain", "first"))
    np.testing.assert_array_equal(first["t"].to_numpy(), started.loc[first.index, "start_s"].to_numpy())
    np.testing.assert_array_equal(first["d"].to_numpy(), started.loc[first.index, "first_domain"].to_numpy())
    taken = p[p["gpus_change"] > 0].groupby("job_id")["gpus_change"].sum()
    np.testing.assert_array_equal(taken.to_numpy(), started.loc[taken.index, "gpus"].to_numpy())


def test_no_jobs_no_rows():
    r = run_small([], gpus=16)
    assert len(r.placements) == 0 and list(r.placements.columns)[:2] == ["t_s", "job_id"]


def test_a_log_past_its_bound_is_dropped_whole(monkeypatch):
    """Past MAX_ROWS the log keeps nothing (a cut log would give wrong rack loads) and says when it stopped."""
    import dctwin.cluster.placement.log as log

    monkeypatch.setattr(log, "MAX_ROWS", 50)
    n = 4 * 96
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, n)
    jobs = synthetic_jobs(400, 64, 4 * 86_400.0, seed=1, load=0.7)
    r = simulate_cluster(SchedulerConfig(), tl, np.full(n, 64), platform(DOMAIN), jobs, np.zeros(n), 5)
    assert r.placements.empty and r.series["gpus_busy_training"].max() > 0
    bounded = log.PlacementLog(max_rows=2)
    bounded.add(5.0, 0, [[0, 4], [1, 4]], 1)
    bounded.one(6.0, 1, 2, 3)
    assert bounded.dropped_at_s == 6.0 and bounded.columns().shape == (0, 4)
    bounded.one(7.0, 1, 2, -3)
    assert bounded.columns().shape == (0, 4)
