"""Shared builders for the cluster tests (small hand-made job tables)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from dctwin.catalog import get_platform
from dctwin.cluster import simulate_cluster
from dctwin.config.cluster import SchedulerConfig
from dctwin.timeline import Timeline


def platform(domain_gpus: int = 72):
    return dataclasses.replace(get_platform("vr-nvl72"), scale_up_domain_gpus=domain_gpus)


def job_table(rows: list[dict]) -> pd.DataFrame:
    """Rows with at least submit_s, gpus, duration_s; the rest defaulted."""
    n = len(rows)
    def get(k, d):
        return [r.get(k, d) for r in rows]
    return pd.DataFrame({
        "job_id": np.arange(n, dtype=np.int64),
        "kind": get("kind", "batch"),
        "tenant": get("tenant", "a"),
        "submit_s": np.array(get("submit_s", 0.0), dtype=np.float64),
        "gpus": np.array(get("gpus", 1), dtype=np.int64),
        "duration_s": np.array(get("duration_s", 3600.0), dtype=np.float64),
        "priority": np.array(get("priority", 1), dtype=np.int64),
        "deferrable": get("deferrable", False),
        "model": get("model", "m"),
        "max_wait_s": np.array(get("max_wait_s", np.inf), dtype=np.float64),
    })


def run_small(rows, gpus: int, policy: str = "fifo", domain_gpus: int = 8, n_steps: int = 96,
              inference=None, cap=None, failures: bool = False, **sched):
    """Run a small case without failures (unless asked) on ``gpus`` GPUs for ``n_steps`` 15-min steps."""
    tl = Timeline(dt.date(2027, 1, 1), 900, n_steps)
    cfg = SchedulerConfig(policy=policy, failures={"enabled": failures}, **sched)
    inf = np.zeros(n_steps) if inference is None else np.asarray(inference, dtype=float)
    return simulate_cluster(cfg, tl, np.full(n_steps, gpus), platform(domain_gpus), job_table(rows), inf, 7,
                            gpu_cap=cap)
