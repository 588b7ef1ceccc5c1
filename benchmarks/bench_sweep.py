"""Speed of a Monte Carlo sweep of one-year ``borlange-2027`` runs on 1 and 2 local workers.

Target (issue 9): 100 one-year runs of ``borlange-2027`` locally on 2 cores,
and the scaling from 1 to 2 workers. The run count is
``DCTWIN_BENCH_SWEEP_RUNS`` (default 100, ~100 x 3.5 CPU s per worker count);
use a small count (e.g. 8) for a quick scaling figure. Each worker count gets
a fresh output directory, so nothing is resumed. CPU time is this process's
plus its reaped worker processes' (``resource.RUSAGE_CHILDREN``); wall time
and load average are reported beside it, since the 1 -> 2 speed-up only
means something on a machine with two otherwise idle cores. Run:

    DCTWIN_BENCH_SWEEP_RUNS=8 .venv/bin/pytest benchmarks/bench_sweep.py --benchmark-only -p no:xdist -s
"""

from __future__ import annotations

import os
import resource
import textwrap
import time
from pathlib import Path

import pytest

from dctwin.sweep import run_sweep

RUNS = int(os.environ.get("DCTWIN_BENCH_SWEEP_RUNS", "100"))
_WALL: dict[int, float] = {}


def _sweep_file(tmp: Path, runs: int) -> Path:
    p = tmp / "bench-sweep.yaml"
    p.write_text(textwrap.dedent(f"""\
        name: bench-borlange-mc
        base: borlange-2027
        monte_carlo: {{repetitions: {runs}, seed_start: 1}}
    """), encoding="utf-8")
    return p


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _sweep(path: Path, out: Path, workers: int) -> dict:
    load_before = os.getloadavg()[0]
    c0, w0 = _cpu_s(), time.perf_counter()
    outcome = run_sweep(path, out, workers=workers)
    wall_s, cpu_s = time.perf_counter() - w0, _cpu_s() - c0
    return {"outcome": outcome, "wall_s": wall_s, "cpu_s": cpu_s, "loadavg_1min_before": load_before,
            "loadavg_1min_after": os.getloadavg()[0]}


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_borlange_year(benchmark, tmp_path, workers):
    path = _sweep_file(tmp_path, RUNS)
    m = benchmark.pedantic(_sweep, args=(path, tmp_path / f"out-{workers}", workers), rounds=1, iterations=1)
    outcome = m.pop("outcome")
    _WALL[workers] = m["wall_s"]
    m.update(runs=RUNS, workers=workers, wall_s_per_run=m["wall_s"] / RUNS, cpu_s_per_run=m["cpu_s"] / RUNS)
    if workers > 1 and 1 in _WALL:
        m["speedup_vs_1_worker"] = _WALL[1] / m["wall_s"]
    benchmark.extra_info.update(m)
    speed = f", speed-up vs 1 worker {m['speedup_vs_1_worker']:.2f}x" if "speedup_vs_1_worker" in m else ""
    print(f"\nsweep of {RUNS} borlange-2027 years on {workers} worker(s): {m['wall_s']:.0f} s wall "
          f"({m['wall_s_per_run']:.1f} s per run), {m['cpu_s']:.0f} s CPU ({m['cpu_s_per_run']:.1f} s per run){speed}, "
          f"load average {m['loadavg_1min_before']:.1f} -> {m['loadavg_1min_after']:.1f}")
    assert not outcome.failed, outcome.failed
    assert len(outcome.runs) == RUNS
