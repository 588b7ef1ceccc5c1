"""Physical-consistency checks applied to both simulators' outputs on the same workload.

A GPU runs one job at a time (hpcsim's ``h100_supercluster`` GPUs have
``capacity`` 1, no MPS, no MIG), and a cluster cannot deliver more GPU-seconds
of work than GPUs x span. These functions measure both from each tool's
outputs, so the fidelity comparison in BENCHMARKS.md rests on numbers.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd


def hpcsim_overcommit(jobs: list, table: pd.DataFrame, n_gpus: int, span_s: float) -> dict:
    """From hpcsim jobs after a run: most jobs sharing one GPU at once, share of GPU-time with >1 job, and
    work delivered (nominal GPU-s of the iterations, queries and HPO epochs done, from ``table.duration_s``)
    / (GPUs x span). CPU, MIG and CPU+GPU jobs are left out of the work (hpcsim never advances them), so the
    work figure is a lower bound.
    """
    events: dict[str, list] = defaultdict(list)
    work_gpu_s = 0.0
    for job, dur, gpus in zip(jobs, table["duration_s"].to_numpy(), table["gpus"].to_numpy(), strict=True):
        if job.start_time is None:
            continue
        end = min(job.end_time if job.end_time is not None else span_s, span_s)
        for gid in job.allocated_gpus or []:
            events[gid] += [(job.start_time, 1), (end, -1)]
        if getattr(job, "num_iterations", 0) and hasattr(job, "completed_iterations"):
            work_gpu_s += job.completed_iterations / job.num_iterations * dur * gpus
        elif getattr(job, "total_queries", 0):
            work_gpu_s += job.completed_queries / job.total_queries * dur * gpus
        elif getattr(job, "num_trials", 0):  # HPO: trials done plus epochs of the running ones
            epochs = len(job.completed_trials) * job.max_epochs_per_trial + sum(job.active_trials.values())
            work_gpu_s += min(1.0, epochs / (job.num_trials * job.max_epochs_per_trial)) * dur * gpus
    most, shared_s = 0, 0.0
    for ev in events.values():
        ev.sort(key=lambda e: (e[0], e[1]))
        n, last = 0, 0.0
        for t, d in ev:
            if n > 1:
                shared_s += t - last
            n += d
            last = t
            most = max(most, n)
    cap = n_gpus * span_s
    return {"max_jobs_on_one_gpu": most, "shared_gpu_time_frac": shared_s / cap,
            "delivered_work_frac": work_gpu_s / cap}


def dctwin_overcommit(result, n_gpus: int, span_s: float) -> dict:
    """The same three figures from a dctwin ``ClusterResult`` (busy GPUs per step and useful GPU-s)."""
    s = result.series
    busy = (s["gpus_busy_training"] + s["gpus_busy_inference"]).to_numpy()
    return {"max_busy_over_online": float(np.max(busy / np.maximum(s["gpus_online"].to_numpy(), 1e-9))),
            "delivered_work_frac": float(result.stats["useful_gpu_s"]) / (n_gpus * span_s)}


def hpcsim_solo_run_error(jobs: list, table: pd.DataFrame, span_s: float) -> tuple[int, float]:
    """Check of the job conversion: (number of hpcsim jobs that started and ended inside the span with their
    GPUs to themselves, largest relative difference between their run time and the table's ``duration_s``).
    """
    spans: dict[str, list] = defaultdict(list)
    for i, job in enumerate(jobs):
        if job.start_time is not None:
            end = job.end_time if job.end_time is not None else span_s
            for gid in job.allocated_gpus or []:
                spans[gid].append((job.start_time, end, i))
    dur = table["duration_s"].to_numpy()
    n, worst = 0, 0.0
    for i, job in enumerate(jobs):
        if job.start_time is None or job.end_time is None or job.end_time >= span_s or not job.allocated_gpus:
            continue
        alone = all(k == i or e <= job.start_time or s >= job.end_time
                    for gid in job.allocated_gpus for s, e, k in spans[gid])
        if alone:
            n += 1
            worst = max(worst, abs(job.end_time - job.start_time - dur[i]) / dur[i])
    return n, worst
