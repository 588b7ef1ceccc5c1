"""Run each simulator in-process on a given workload and time the simulation alone.

``run_hpcsim``: what ``hpcsim simulate --scheduler S --cluster C --duration D``
does after drawing its jobs (build cluster, scheduler, metrics, engine; run).
hpcsim's own "Wall-clock" figure times the engine construction and run only;
we time that span plus the cluster and scheduler construction (a few ms).

``run_dctwin``: ``dctwin.cluster.simulate_cluster`` on a job table, with the
cluster as big as hpcsim's, HGX H100 nodes (8-GPU NVLink domains, like the
DGX H100 nodes of hpcsim's ``h100_supercluster``), 60 s steps (hpcsim samples
its metrics every 60 s), component failures with checkpoint/restart on
(dctwin's defaults: Llama 3 H100 failure rates, Young/Daly checkpoints),
topology placement and EASY backfill.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd

STEP_S = 60
PLATFORM_ID = "hgx-h100"


def run_hpcsim(jobs: list, duration_s: float, scheduler: str = "gavel",
               cluster_name: str = "h100_supercluster") -> dict:
    """Simulate hpcsim ``jobs`` (consumed: hpcsim mutates them) and return timings [s] and its summary."""
    from hpcsim.cluster.cluster import CLUSTER_CONFIGS, Cluster
    from hpcsim.metrics.collector import MetricsCollector
    from hpcsim.scheduler.backfill import wrap_with_backfill
    from hpcsim.scheduler.schedulers import create_scheduler
    from hpcsim.simulator.engine import SimulationEngine

    c0, t0 = time.process_time(), time.perf_counter()
    cluster = Cluster(CLUSTER_CONFIGS[cluster_name])
    sched = wrap_with_backfill(create_scheduler(scheduler, cluster), "none", renewable=None)
    metrics = MetricsCollector()
    t1 = time.perf_counter()
    result = SimulationEngine(cluster, sched, jobs, metrics, max_sim_time=duration_s, renewable_config=None).run()
    t2, c2 = time.perf_counter(), time.process_time()
    summary = metrics.summary()
    return {"sim_s": t2 - t0, "cpu_s": c2 - c0, "engine_s": t2 - t1, "summary": summary, "jobs": len(jobs),
            "gpus": int(cluster.total_gpu_count()), "finished": len(result.completed_jobs)}


def dctwin_inputs(n_gpus: int, span_s: float, step_s: int = STEP_S, failures: bool = True):
    """(scheduler config, timeline, GPUs online, platform, inference need) for a flat ``n_gpus`` fleet."""
    from dctwin.catalog import get_platform
    from dctwin.config.cluster import SchedulerConfig
    from dctwin.timeline import Timeline

    n_steps = round(span_s / step_s)
    tl = Timeline(dt.date(2027, 1, 1), step_s, n_steps)
    cfg = SchedulerConfig(policy="easy_backfill", placement="topology", failures={"enabled": failures})
    return cfg, tl, np.full(n_steps, float(n_gpus)), get_platform(PLATFORM_ID), np.zeros(n_steps)


def run_dctwin(jobs: pd.DataFrame, n_gpus: int, span_s: float, seed: int = 42, step_s: int = STEP_S,
               failures: bool = True) -> dict:
    """Simulate a dctwin job table on ``n_gpus`` GPUs for ``span_s`` [s]; timings [s] and run stats."""
    from dctwin.cluster import simulate_cluster

    cfg, tl, online, platform, need = dctwin_inputs(n_gpus, span_s, step_s, failures)
    c0, t0 = time.process_time(), time.perf_counter()
    res = simulate_cluster(cfg, tl, online, platform, jobs, need, seed)
    t1, c1 = time.perf_counter(), time.process_time()
    return {"sim_s": t1 - t0, "cpu_s": c1 - c0, "stats": res.stats, "jobs": len(jobs), "gpus": n_gpus, "result": res}


def scale_job_table(jobs: pd.DataFrame, copies: int, span_s: float, days: int) -> pd.DataFrame:
    """``copies`` x ``days`` copies of a one-span table: ``copies`` side by side per span, repeated over ``days`` spans.

    Offered load per GPU stays the same when the fleet grows ``copies``-fold;
    submit times are shifted by whole spans and each copy is offset by a
    fraction of a second so the merged table stays strictly interleaved.
    """
    from dctwin.workload.schema import finish_jobs

    n = len(jobs)
    reps = copies * days
    day = np.repeat(np.arange(days), copies * n)
    copy = np.tile(np.repeat(np.arange(copies), n), days)
    submit = np.tile(jobs["submit_s"].to_numpy(), reps) + day * span_s + copy * (1.0 / max(copies, 1))
    tenants = np.tile(jobs["tenant"].astype(str).to_numpy(), reps)
    cols = {
        "submit_s": submit,
        "kind": np.tile(jobs["kind"].astype(str).to_numpy(), reps),
        "tenant": np.char.add(np.char.add(tenants.astype(str), "-"), copy.astype(str)),
        "gpus": np.tile(jobs["gpus"].to_numpy(), reps),
        "duration_s": np.tile(jobs["duration_s"].to_numpy(), reps),
        "priority": np.tile(jobs["priority"].to_numpy(), reps),
        "deferrable": np.tile(jobs["deferrable"].to_numpy(), reps),
        "model": np.tile(jobs["model"].astype(str).to_numpy(), reps),
        "max_wait_s": np.tile(jobs["max_wait_s"].to_numpy(), reps),
    }
    return finish_jobs(cols)
