"""The default scenario through dctwin.workload, dctwin.perf and the cluster (30 days, 15-min steps)."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.cluster import simulate_cluster
from dctwin.cluster.inference import inference_gpus_needed
from dctwin.config import load_scenario
from dctwin.timeline import Timeline
from dctwin.workload import generate_jobs, inference_demand, services

DAYS = 30


@pytest.fixture(scope="module")
def borlange_month():
    from importlib import resources

    path = resources.files("dctwin.scenarios") / "borlange-2027.yaml"
    sc = load_scenario(str(path))
    tl = Timeline(sc.simulation.start, sc.simulation.step_s, DAYS * 86_400 // sc.simulation.step_s)
    plat = get_platform("vr-nvl72")
    gpus = sum(r.count for p in sc.phases for r in p.racks) * plat.gpus_per_unit
    jobs = generate_jobs(sc.workload, tl, gpus, plat, sc.simulation.seed)
    need = inference_gpus_needed(inference_demand(sc.workload, tl, sc.simulation.seed), services(sc.workload), plat)
    online = np.full(tl.n_steps, gpus)
    r = simulate_cluster(sc.scheduler, tl, online, plat, jobs, need["gpus_needed"].to_numpy(), sc.simulation.seed)
    return r, jobs, need, gpus


def test_contract_columns_and_sizes(borlange_month):
    r, jobs, _, _ = borlange_month
    for col in ("start_s", "end_s", "state", "restarts", "lost_gpu_s", "checkpoint_gpu_s", "wait_s",
                "placement_domains"):
        assert col in r.jobs.columns
    for col in ("gpus_online", "gpus_busy_training", "gpus_busy_inference", "gpus_down", "gpus_idle",
                "utilisation", "interruptions"):
        assert col in r.series.columns
    assert len(r.series) == DAYS * 96 and len(r.jobs) == len(jobs)
    assert {"events_processed", "goodput_frac", "effective_training_time_frac"} <= set(r.stats)


def test_inference_is_served_and_training_fills_the_rest(borlange_month):
    r, _, need, gpus = borlange_month
    served = r.series["gpus_busy_inference"].to_numpy()
    np.testing.assert_allclose(served, np.minimum(need["gpus_needed"].to_numpy(), gpus), atol=1e-6)
    assert r.stats["inference_shortfall_gpu_s"] == 0
    assert 0.3 < r.stats["mean_utilisation"] <= 1.0
    assert r.stats["goodput_frac"] > 0.9
    # topology placement: jobs that fit one NVL72 rack sit in one
    small = r.jobs[(r.jobs["gpus"] <= 72) & (r.jobs["placement_domains"] > 0)]
    assert (small["placement_domains"] == 1).mean() > 0.95
