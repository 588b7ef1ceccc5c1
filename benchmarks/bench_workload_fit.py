"""Speed of ``dctwin workload fit``: a 1,000,000-job log read, checked and fitted in < 30 s (issue 16).

The log is a Helios-style CSV (dates as text, the slowest of the readers' paths)
drawn from the openb profile with 200 tenants. Times are CPU seconds of this
process; wall time beside. Run:
    .venv/bin/pytest benchmarks/bench_workload_fit.py -p no:xdist -q -s
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from dctwin.workload.formats import read_trace
from dctwin.workload.goodness import fit_report
from dctwin.workload.profile import fit_profile
from dctwin.workload.profile_gen import generate_from_profile
from dctwin.workload.traces import packaged_trace

N_JOBS = 1_000_000


def _million_job_log(path) -> None:
    prof = fit_profile(read_trace(packaged_trace("openb_pod_list_default.csv.gz")))
    rng = np.random.default_rng(0)
    span = 3 * 365 * 86_400.0
    g = generate_from_profile(prof, span, rng, rate_scale=N_JOBS / (span * 0.00048))
    n = min(N_JOBS, g["submit_s"].size)
    t0 = np.datetime64("2020-04-01T00:00:00")
    sub = t0 + g["submit_s"][:n].astype("timedelta64[s]")
    wait = rng.exponential(60.0, n).astype(np.int64)
    dur = np.ceil(g["duration_s"][:n]).astype(np.int64)
    start = sub + wait.astype("timedelta64[s]")
    pd.DataFrame({"job_id": np.arange(n), "user": rng.integers(0, 200, n).astype(str), "gpu_num": g["gpus"][:n],
                  "cpu_num": 8, "node_num": 1, "state": np.where(rng.random(n) < 0.7, "COMPLETED", "FAILED"),
                  "submit_time": sub.astype(str), "start_time": start.astype(str),
                  "end_time": (start + dur.astype("timedelta64[s]")).astype(str), "duration": dur,
                  "queue": wait}).to_csv(path, index=False)


def test_fit_million_jobs_under_30_s(tmp_path):
    path = tmp_path / "cluster_log.csv"
    _million_job_log(path)
    c0, w0 = time.process_time(), time.perf_counter()
    log = read_trace(path)
    prof = fit_profile(log)
    c1, w1 = time.process_time(), time.perf_counter()
    fit_report(log, prof)
    c2, w2 = time.process_time(), time.perf_counter()
    print(f"\nfit of {len(log.jobs):,} jobs: read + fit {c1 - c0:.1f} s CPU ({w1 - w0:.1f} s wall); "
          f"goodness-of-fit table {c2 - c1:.1f} s CPU ({w2 - w1:.1f} s wall)")
    assert len(log.jobs) >= 0.99 * N_JOBS
    assert c2 - c0 < 30.0
