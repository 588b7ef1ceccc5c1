"""Whole-run invariants: no job lost, GPU-seconds conserved, capacity never exceeded, determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dctwin.cluster import simulate_cluster
from dctwin.cluster.synthetic import synthetic_jobs
from dctwin.config.cluster import SchedulerConfig
from dctwin.timeline import Timeline
from test_cluster_helpers import job_table, platform, run_small

FINAL_STATES = {"completed", "failed", "cancelled", "running_at_end", "never_started"}
STEP_S = 900
RACKS = 20


def year_run(policy: str, seed: int = 11, jobs=None, placement: str = "topology"):
    """One year, 15-min steps, a build-out from 10 to 20 NVL72 racks, daily inference and a cap dip."""
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, 365 * 96)
    t = tl.t_s.astype(float)
    online = np.where(t < 120 * 86_400, 10 * 72, RACKS * 72)
    inference = (0.15 + 0.1 * np.sin(2 * np.pi * t / 86_400)) * online
    cap = np.where((t > 200 * 86_400) & (t < 210 * 86_400), 0.6 * online, online)   # a hot spell
    if jobs is None:
        jobs = synthetic_jobs(15_000, RACKS * 72, 365 * 86_400.0, seed=5, load=0.65)
    cfg = SchedulerConfig(policy=policy, placement=placement, failures={"rate_scale": 5.0})
    r = simulate_cluster(cfg, tl, online, platform(72), jobs, inference, seed, gpu_cap=cap)
    return r, online, inference, cap


@pytest.fixture(scope="module", params=["fifo", "easy_backfill", "priority_preempt", "fair_share"])
def run(request):
    return year_run(request.param)


def test_every_job_in_one_final_state(run):
    r, *_ = run
    j = r.jobs
    assert len(j) == 15_000 and j["job_id"].is_unique
    assert set(j["state"].unique()) <= FINAL_STATES
    assert j["state"].notna().all()
    done = j[j["state"] == "completed"]
    assert (done["end_s"] >= done["start_s"] + done["duration_s"] - 1e-6).all()
    assert (j.loc[j["state"] == "never_started", "gpu_s"] == 0).all()
    assert (j.loc[j["state"] == "running_at_end", "end_s"].isna()).all()
    assert (j["state"] == "completed").mean() > 0.8   # offered load is 65% of the final fleet


def test_gpu_seconds_conserved(run):
    r, *_ = run
    j = r.jobs
    parts = j["useful_gpu_s"] + j["lost_gpu_s"] + j["checkpoint_gpu_s"]
    np.testing.assert_allclose(parts, j["gpu_s"], rtol=1e-9, atol=1e-3)
    done = j[j["state"] == "completed"]
    np.testing.assert_allclose(done["useful_gpu_s"], done["gpus"] * done["duration_s"], rtol=1e-9)
    series_gpu_s = r.series["gpus_busy_training"].sum() * STEP_S
    assert series_gpu_s == pytest.approx(j["gpu_s"].sum(), rel=1e-9)


def test_capacity_never_exceeded(run):
    r, online, inference, cap = run
    s = r.series
    busy = s["gpus_busy_training"] + s["gpus_busy_inference"]
    assert (busy + s["gpus_down"] <= online + 1e-6).all()
    assert (busy <= cap + 1e-6).all()
    assert (s["gpus_busy_inference"] <= np.ceil(inference) + 1e-6).all()
    assert s["utilisation"].between(0, 1 + 1e-9).all()


def test_failures_are_recorded_consistently(run):
    r, *_ = run
    assert r.series["interruptions"].sum() == len(r.failures) == r.jobs["restarts"].sum() > 0
    assert set(r.failures["job_id"]) <= set(r.jobs["job_id"])


def test_same_seed_same_output_other_seed_other_failures():
    jobs = synthetic_jobs(3_000, 720, 60 * 86_400.0, seed=2, load=0.7)
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, 60 * 96)
    cfg = SchedulerConfig(failures={"rate_scale": 20.0})
    args = (cfg, tl, np.full(tl.n_steps, 720), platform(72), jobs, np.full(tl.n_steps, 100))
    a, b, c = simulate_cluster(*args, 1), simulate_cluster(*args, 1), simulate_cluster(*args, 2)
    pd.testing.assert_frame_equal(a.jobs, b.jobs)
    pd.testing.assert_frame_equal(a.series, b.series)
    pd.testing.assert_frame_equal(a.failures, b.failures)
    assert len(a.failures) > 10
    assert not a.failures["t_s"].equals(c.failures["t_s"])


def test_inference_takes_capacity_back_and_the_cost_is_counted():
    # one 8-GPU job; inference needs 4 GPUs from step 4 (t=3600) to step 8 (t=7200)
    inference = np.zeros(96)
    inference[4:8] = 4
    r = run_small([{"submit_s": 0, "gpus": 8, "duration_s": 10_000}], gpus=8, inference=inference)
    job = r.jobs.iloc[0]
    assert job["preemptions"] == 1 and r.stats["preemptions_for_capacity"] == 1
    assert r.stats["preemption_lost_gpu_s"] == pytest.approx(8 * 3600)   # no checkpoint reached
    assert job["end_s"] == pytest.approx(7200 + 600 + 10_000)            # relaunch after the peak
    assert r.series["gpus_busy_inference"].iloc[4:8].tolist() == [4.0] * 4
    assert r.series["gpus_busy_training"].iloc[4:8].sum() == 0


def test_gpu_cap_is_obeyed_or_ignored_on_request():
    cap = np.full(96, 4.0)
    rows = [{"submit_s": 0, "gpus": 4, "duration_s": 3600}, {"submit_s": 0, "gpus": 4, "duration_s": 3600}]
    obey = run_small(rows, gpus=8, cap=cap)
    assert obey.jobs["start_s"].tolist() == [0, 3600]
    free = run_small(rows, gpus=8, cap=cap, obey_facility_limits=False)
    assert free.jobs["start_s"].tolist() == [0, 0]


def test_bad_inputs_name_the_field():
    from dctwin.errors import InputError
    with pytest.raises(InputError, match="gpu_cap"):
        run_small([{}], gpus=8, n_steps=4, cap=np.ones(3))
    with pytest.raises(InputError, match="submit_s"):
        run_small([{"submit_s": 10}, {"submit_s": 0}], gpus=8, n_steps=4)


def test_power_cap_sheds_deferrable_work_first():
    # two 4-GPU jobs; the cap falls to 4 GPUs at step 4: the deferrable one (lower id is not) goes
    cap = np.full(96, 8.0)
    cap[4:] = 4
    rows = [{"submit_s": 0, "gpus": 4, "duration_s": 3 * 3600, "deferrable": True, "priority": 5},
            {"submit_s": 0, "gpus": 4, "duration_s": 3 * 3600, "deferrable": False, "priority": 1}]
    r = run_small(rows, gpus=8, cap=cap)
    assert r.jobs["preemptions"].tolist() == [1, 0]
    assert (r.series["gpus_busy_training"].iloc[4:] <= 4 + 1e-9).all()


@pytest.mark.parametrize("policy", ["easy_backfill", "priority_preempt"])
def test_no_gpu_ever_held_twice_audited_after_every_batch(policy):
    """Audit each batch of a 60-day run with failures, repairs, inference swings and a cap dip."""
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, 60 * 96)
    t = tl.t_s.astype(float)
    online = np.where(t < 20 * 86_400, 360, 720)
    inference = (0.2 + 0.15 * np.sin(2 * np.pi * t / 86_400)) * online
    cap = np.where((t > 30 * 86_400) & (t < 33 * 86_400), 400, online)
    jobs = synthetic_jobs(2_000, 720, 60 * 86_400.0, seed=9, load=0.7)
    cfg = SchedulerConfig(policy=policy, failures={"rate_scale": 50.0})
    r = simulate_cluster(cfg, tl, online, platform(72), jobs, inference, 3, gpu_cap=cap, audit=True)
    assert len(r.failures) > 50 and r.stats["preemptions"] > 0
    assert r.series["gpus_down"].max() > 0


def test_hot_spares_are_kept_for_failed_nodes():
    """16 GPUs, a quarter held as spares: a 16-GPU job never starts; a 12-GPU job swaps failed nodes into spares."""
    rows = [{"submit_s": 0, "gpus": 12, "duration_s": 20 * 3600}, {"submit_s": 1, "gpus": 16, "duration_s": 60}]
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, 96)
    cfg = SchedulerConfig(failures={"spare_fraction": 0.25, "rate_scale": 3000.0, "node_gpus": 4})
    r = simulate_cluster(cfg, tl, np.full(96, 16), platform(8), job_table(rows), np.zeros(96), 5, audit=True)
    assert r.jobs["state"].tolist()[1] == "never_started"
    assert r.jobs["restarts"].iloc[0] > 0 and r.series["gpus_down"].max() > 0
    assert (r.series["gpus_busy_training"] <= 12 + 1e-9).all()


def test_empty_job_table_and_oversized_job():
    r = run_small([], gpus=8, n_steps=8, inference=np.full(8, 3))
    assert len(r.jobs) == 0 and r.series["gpus_busy_inference"].tolist() == [3.0] * 8
    r = run_small([{"submit_s": 0, "gpus": 9}], gpus=8, n_steps=8)
    assert r.jobs["state"].tolist() == ["cancelled"]     # larger than the whole fleet


def test_a_job_of_a_hundred_billion_gpus_is_cancelled_not_a_memory_error():
    # the job-size lookup table was sized by the largest job: 1e11 GPUs asked for 745 GiB
    r = run_small([dict(gpus=8), dict(gpus=100_000_000_000, submit_s=60.0)], gpus=64, failures=True)
    assert len(r.jobs) == 2
