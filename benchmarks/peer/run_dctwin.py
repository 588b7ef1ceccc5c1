"""Whole-process dctwin run for the peer comparison: read a job table, simulate the cluster, print a summary.

    .venv/bin/python benchmarks/peer/run_dctwin.py JOBS.parquet --gpus 256 --span-s 86400

The counterpart of ``hpcsim simulate``: one process that loads its workload,
simulates and prints results, including the simulation time it measured
itself (``simulation: X s``, the ``simulate_cluster`` call alone).
``--copies C --days D`` runs the table C times side by side on C x the GPUs,
repeated over D spans (the "100x larger workload" check: C x D = 100).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread, as the dctwin command sets it (dctwin.cli); compare.py runs hpcsim with the same setting.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import pandas as pd  # noqa: E402 - after the BLAS thread setting, which numpy reads when it loads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sims import run_dctwin, scale_job_table  # noqa: E402 - sibling module, found through sys.path above


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jobs", type=Path, help="job table (parquet) in dctwin's JOB_COLUMNS")
    ap.add_argument("--gpus", type=int, required=True, help="GPUs of the one-copy cluster")
    ap.add_argument("--span-s", type=float, required=True, help="simulated span of one copy [s]")
    ap.add_argument("--copies", type=int, default=1, help="side-by-side copies (GPUs and jobs x copies)")
    ap.add_argument("--days", type=int, default=1, help="spans in a row (span and jobs x days)")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    jobs = pd.read_parquet(a.jobs)
    if a.copies > 1 or a.days > 1:
        jobs = scale_job_table(jobs, a.copies, a.span_s, a.days)
    t1 = time.perf_counter()
    r = run_dctwin(jobs, a.gpus * a.copies, a.span_s * a.days, seed=a.seed)
    s = r["stats"]
    print(f"dctwin cluster simulation: {r['jobs']} jobs, {r['gpus']} GPUs, {a.span_s * a.days / 86400:.1f} days")
    print(f"  jobs by state    : {s['jobs_by_state']}")
    print(f"  mean utilisation : {s['mean_utilisation']:.1%}")
    print(f"  mean wait        : {s['mean_wait_s']:.0f} s")
    print(f"  interruptions    : {s['interruptions']}  goodput {s['goodput_frac']:.3f}")
    print(f"  events processed : {s['events_processed']}")
    print(f"  load jobs: {t1 - t0:.3f} s")
    print(f"  simulation: {r['sim_s']:.3f} s")
    return 0


if __name__ == "__main__":
    code = main()
    from dctwin.process import settle_for_exit

    settle_for_exit()  # as the dctwin command does when it ends (dctwin.cli.main)
    raise SystemExit(code)
