"""Speed of the cluster simulation on one core.

Targets (issue 3): the event kernel sustains >= 500,000 events/s; one year of
borlange-2027 (~7,200 GPUs, >= 100,000 jobs, 15-min steps) end to end in
< 10 s; one year of a 600 MW campus (~200,000 GPUs, >= 2 million jobs) in
< 60 s with < 4 GiB of memory (marked slow). Times are CPU seconds of this
process (``time.process_time``), so a busy shared machine does not distort
them; wall time is reported beside. Run:
    .venv/bin/pytest benchmarks/bench_cluster.py --benchmark-only -p no:xdist            # all
    .venv/bin/pytest benchmarks/bench_cluster.py --benchmark-only -p no:xdist -m "not slow"
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from pathlib import Path

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.cluster import Kernel, simulate_cluster
from dctwin.cluster.synthetic import synthetic_jobs
from dctwin.config.cluster import SchedulerConfig
from dctwin.timeline import Timeline

YEAR_STEPS = 365 * 96
STEP_S = 900


def _kernel_run(n_events: int) -> int:
    """A chain of events: each handler schedules one follow-up, 1,000 chains in flight."""
    k = Kernel()
    left = [n_events]

    def handler(kern, t, kind, a, b):
        if left[0] > 0:
            left[0] -= 1
            kern.schedule(t + 1.0 + (a % 7), kind, a, b)

    for i in range(1000):
        k.schedule(float(i % 13), 0, i, 0)
    return k.run(handler)


def test_kernel_events_per_second(benchmark):
    n = 1_000_000
    c0 = time.process_time()
    done = benchmark.pedantic(_kernel_run, args=(n,), rounds=1, iterations=1)
    rate = done / (time.process_time() - c0)
    benchmark.extra_info["events_per_s"] = rate
    print(f"\nkernel: {done:,} events, {rate:,.0f} events per CPU second")
    assert rate >= 500_000


def _campus_year(gpus: int, n_jobs: int, seed: int = 1):
    """Synthetic job table (``cluster.synthetic``) with a daily inference swing; times the simulation."""
    tl = Timeline(dt.date(2027, 1, 1), STEP_S, YEAR_STEPS)
    t = tl.t_s.astype(float)
    jobs = synthetic_jobs(n_jobs, gpus, YEAR_STEPS * STEP_S, seed=seed, load=0.6)
    inference = (0.2 + 0.1 * np.sin(2 * np.pi * t / 86_400)) * gpus
    online = np.full(tl.n_steps, gpus)
    cap = np.full(tl.n_steps, gpus * 0.98)
    c0, w0 = time.process_time(), time.perf_counter()
    r = simulate_cluster(SchedulerConfig(), tl, online, get_platform("vr-nvl72"), jobs, inference, seed, cap)
    return r, time.process_time() - c0, time.perf_counter() - w0


def _borlange_year():
    """The default scenario end to end: jobs and inference demand from dctwin.workload, replica sizing, cluster."""
    from dctwin.cluster.inference import inference_gpus_needed
    from dctwin.config import load_scenario
    from dctwin.workload import generate_jobs, inference_demand, services

    sc = load_scenario(Path(__file__).parents[1] / "src/dctwin/scenarios/borlange-2027.yaml")
    tl = Timeline.from_config(sc.simulation)
    plat = get_platform("vr-nvl72")
    gpus = sum(r.count for p in sc.phases for r in p.racks) * plat.gpus_per_unit
    c0, w0 = time.process_time(), time.perf_counter()
    jobs = generate_jobs(sc.workload, tl, gpus, plat, sc.simulation.seed)
    need = inference_gpus_needed(inference_demand(sc.workload, tl, sc.simulation.seed), services(sc.workload), plat)
    r = simulate_cluster(sc.scheduler, tl, np.full(tl.n_steps, gpus), plat, jobs, need["gpus_needed"].to_numpy(),
                         sc.simulation.seed)
    return r, time.process_time() - c0, time.perf_counter() - w0


def _report(benchmark, label, r, cpu_s, wall_s):
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    ev = r.stats["events_processed"]
    benchmark.extra_info.update(cpu_s=cpu_s, wall_s=wall_s, events=ev, events_per_cpu_s=ev / cpu_s,
                                peak_rss_gib=rss_gib, jobs=len(r.jobs))
    print(f"\n{label}: {cpu_s:.1f} s CPU ({wall_s:.1f} s wall), {len(r.jobs):,} jobs, {ev:,} events "
          f"({ev / cpu_s:,.0f}/s), utilisation {r.stats['mean_utilisation']:.2f}, peak RSS {rss_gib:.2f} GiB")
    return rss_gib


def test_borlange_year(benchmark):
    r, cpu_s, wall_s = benchmark.pedantic(_borlange_year, rounds=1, iterations=1)
    _report(benchmark, "borlange-2027 year (scenario, end to end)", r, cpu_s, wall_s)
    assert len(r.jobs) >= 100_000
    assert cpu_s < 10.0


def test_borlange_scale_synthetic_year(benchmark):
    r, cpu_s, wall_s = benchmark.pedantic(_campus_year, args=(7_200, 100_000), rounds=1, iterations=1)
    _report(benchmark, "7,200 GPUs, 100k synthetic jobs", r, cpu_s, wall_s)
    assert cpu_s < 10.0


@pytest.mark.slow
def test_600mw_campus_year(benchmark):
    r, cpu_s, wall_s = benchmark.pedantic(_campus_year, args=(200_000, 2_000_000), rounds=1, iterations=1)
    rss = _report(benchmark, "600 MW campus year (200k GPUs, 2M jobs)", r, cpu_s, wall_s)
    assert cpu_s < 60.0
    assert rss < 4.0


@pytest.mark.parametrize("path", ["python", "compiled"])
def test_engine_paths_side_by_side(benchmark, path, monkeypatch):
    """The same 100k-job year on the Python reference engine and the compiled core (identical results)."""
    pytest.importorskip("numba")
    from dctwin.cluster import engine_path

    monkeypatch.setenv(engine_path.ENV, path)
    r, cpu_s, wall_s = benchmark.pedantic(_campus_year, args=(7_200, 100_000), rounds=1, iterations=1)
    _report(benchmark, f"7,200 GPUs, 100k synthetic jobs, {path} engine", r, cpu_s, wall_s)
    assert r.stats["engine_path"] == path
