"""What happens per preemption of training in one run (BENCHMARKS.md section 16): a diagnostic, not a test.

Usage: ``python scripts/preemption_stats.py SCENARIO`` (a packaged name or a file). Wraps the engine's
``preempt`` for the run and prints: preemptions; how long a preempted job had run since it (re)started;
how often the same job is preempted; how many inference GPUs given back were taken again within 5, 15
and 60 min (thrash); and how the inference need compares with the fleet.
"""

from __future__ import annotations

import collections
import sys
import time

import numpy as np

import dctwin.cluster.engine as engine
from dctwin.config import load_scenario
from dctwin.orchestrator import simulate

_ROWS: list[tuple[float, int, float]] = []     # (t [s], job, run time since its last start [s])
_ENGINES: list = []


def _recording(preempt):
    def wrapped(eng, j: int, now: float) -> None:
        _ROWS.append((now, j, now - eng.since[j]))
        preempt(eng, j, now)
    return wrapped


def _keeping(run):
    def wrapped(eng) -> None:
        _ENGINES.append(eng)
        run(eng)
    return wrapped


def _regranted(t: np.ndarray, d: np.ndarray, within_s: float) -> tuple[float, float]:
    """(GPUs given back then granted again within ``within_s``, GPUs given back) [GPU]."""
    gt, gd = t[d > 0], d[d > 0]
    cum = np.concatenate([[0.0], np.cumsum(gd)])
    rt, rd = t[d < 0], -d[d < 0]
    lo, hi = np.searchsorted(gt, rt, side="right"), np.searchsorted(gt, rt + within_s, side="right")
    return float(np.minimum(cum[hi] - cum[lo], rd).sum()), float(rd.sum())


def main(ref: str) -> None:
    engine.Engine.preempt = _recording(engine.Engine.preempt)
    engine.Engine.run = _keeping(engine.Engine.run)
    t0 = time.process_time()
    simulate(load_scenario(ref), lambda *_: None)
    print(f"{ref}: simulate {time.process_time() - t0:.1f} s CPU")
    eng = _ENGINES[0]                          # the first pool's (a demand-response run's first pass)
    days = eng.t_end / 86_400.0
    print(f"preemptions: {len(_ROWS):,} ({len(_ROWS) / days:,.1f} a day)")
    if _ROWS:
        ran_min = np.array([r[2] for r in _ROWS]) / 60.0
        p = np.percentile(ran_min, [10, 50, 90]).round(1)
        print(f"run since (re)start when preempted [min]: p10 {p[0]}, median {p[1]}, p90 {p[2]}; "
              f"under 5 min: {np.mean(ran_min < 5):.1%}")
        per_job = np.array(list(collections.Counter(r[1] for r in _ROWS).values()))
        print(f"jobs preempted: {per_job.size:,}; preemptions per preempted job: median {np.median(per_job):.0f}, "
              f"p99 {np.percentile(per_job, 99):.0f}, max {per_job.max()}")
    t, d = np.asarray(eng.in_t, dtype=np.float64), np.asarray(eng.in_d, dtype=np.float64)
    for minutes in (5, 15, 60):
        again, back = _regranted(t, d, minutes * 60.0)
        share = again / back if back else 0.0
        print(f"inference GPUs given back then granted again within {minutes} min: {share:.1%} "
              f"({again:,.0f} of {back:,.0f} GPU)")
    need, online = np.asarray(eng.inf_need), np.asarray(eng.online)
    print(f"inference GPUs asked for (held by the autoscaler, else the need): mean {need.mean():,.0f}, "
          f"max {need.max():,} of {online.max():,} online; steps above the fleet: {np.mean(need > online):.1%}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "borlange-2027")
