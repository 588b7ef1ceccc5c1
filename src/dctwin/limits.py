"""Refuse runs too large for the machine before they start, with the memory and time they would need.

The estimate is linear in the three things a run holds in memory:

* time steps: the site, facility and accounting columns of every step (the run
  table alone has ~90 float64 columns; intermediates about triple it),
* jobs: one row per job in the job table, the cluster simulator's event state
  and the job results table,
* GPUs: the cluster simulator's per-GPU and per-node placement state,

plus a fixed cost (imports, catalogs, fitted distributions). The constants
below were measured on this project's own runs (``dctwin.orchestrator.simulate``
of the default scenario, varied in span, step and rack count; peak resident
memory from ``getrusage``, wall time on a shared 2-core machine, Nov 2026):

==============================  =====  =========  =======  ========  =========
run                             steps  GPUs       jobs     wall [s]  +RSS [MB]
==============================  =====  =========  =======  ========  =========
7 d, 900 s, 100 racks             672      7,200    4,132      1.7        88
30 d, 900 s, 100 racks          2,880      7,200   17,673      2.3       113
365 d, 900 s, 100 racks        35,040      7,200  216,838      5.3       359
7 d, 60 s, 100 racks           10,080      7,200    4,132      1.2       110
90 d, 60 s, 100 racks         129,600      7,200   53,239      3.0       427
2 d, 900 s, 100 racks             192      7,200    1,063      0.7        55
2 d, 900 s, 10,000 racks          192    720,000  107,599      2.6       175
==============================  =====  =========  =======  ========  =========

Differences between rows give ~2.5 kB and ~4 µs per step, ~1 kB and ~18 µs per
job and ~32 bytes per GPU. The job count of a generated workload is
proportional to training GPU-days: the default scenario draws 216,838 jobs on
0.6 × 7,200 GPUs over 365 days, 0.14 jobs per training GPU per day. These are
estimates for refusing absurd runs, good to a factor of about two, not a
benchmark.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from dctwin.config import Scenario
from dctwin.errors import CapacityError

__all__ = ["USABLE_MEMORY_SHARE", "RunEstimate", "check_run_fits", "estimate_run", "machine_memory_bytes"]

BYTES_FIXED = 170e6            # interpreter, numpy/pandas/pydantic, catalogs, fits [B]
BYTES_PER_STEP = 2_500.0       # site + facility + accounting columns and intermediates [B/step]
BYTES_PER_JOB = 1_000.0        # job table, cluster event state, job results [B/job]
BYTES_PER_GPU = 32.0           # placement and free-GPU state [B/GPU]
SECONDS_FIXED = 1.0            # stage set-up [s]
SECONDS_PER_STEP = 4e-6        # vectorised per-step work [s/step]
SECONDS_PER_JOB = 18e-6        # event-driven cluster simulation [s/job]
JOBS_PER_TRAINING_GPU_DAY = 0.14  # generated workload, from the default scenario (see above) [1/(GPU·day)]
BYTES_PER_JOB_FILE_ROW = 30.0  # a gzip-compressed replayed job table: a short CSV row [B]
GZIP_RATIO = 5.0               # CSV text over its gzip size (packaged Alibaba pod list: 5.2) [-]
USABLE_MEMORY_SHARE = 0.8      # leave the rest to the operating system and other processes [-]


@dataclass(frozen=True)
class RunEstimate:
    """What a run would need: peak memory [B], wall time [s], and the sizes they come from."""

    memory_bytes: float
    seconds: float
    n_steps: int
    gpus: int
    jobs_estimate: float

    def describe(self) -> str:
        return (f"about {_bytes(self.memory_bytes)} of memory and {_duration(self.seconds)} "
                f"({self.n_steps:,} steps, {self.gpus:,} GPUs, ~{_count(self.jobs_estimate)} jobs)")


def _gpu_days(scenario: Scenario) -> tuple[int, float]:
    """(GPUs installed by the end of the span, GPU-days online within the span)."""
    from dctwin.catalog import load_catalog

    catalog = load_catalog()
    sim = scenario.simulation
    span_start = dt.datetime.combine(sim.start, dt.time())
    span_end = span_start + dt.timedelta(days=sim.duration_days)
    gpus, gpu_days = 0, 0.0
    for phase in scenario.phases:
        online = dt.datetime.combine(phase.start, dt.time())
        if online >= span_end:
            continue
        days = (span_end - max(online, span_start)).total_seconds() / 86_400.0
        for group in phase.racks:
            platform = catalog.get(group.platform)
            per_unit = platform.gpus_per_unit if platform is not None else 8
            gpus += group.count * per_unit
            gpu_days += group.count * per_unit * days
    return gpus, gpu_days


def estimate_run(scenario: Scenario) -> RunEstimate:
    """Peak memory [B] and wall time [s] that ``simulate(scenario)`` would need, from the costs above."""
    n_steps = scenario.simulation.n_steps
    gpus, gpu_days = _gpu_days(scenario)
    jobs_path = scenario.workload.jobs_path
    if jobs_path is not None:
        jobs = _job_file_rows(Path(jobs_path))
    else:
        jobs = JOBS_PER_TRAINING_GPU_DAY * scenario.workload.training.share_of_gpus * gpu_days
    memory = BYTES_FIXED + BYTES_PER_STEP * n_steps + BYTES_PER_JOB * jobs + BYTES_PER_GPU * gpus
    seconds = SECONDS_FIXED + SECONDS_PER_STEP * n_steps + SECONDS_PER_JOB * jobs
    return RunEstimate(memory_bytes=memory, seconds=seconds, n_steps=n_steps, gpus=gpus, jobs_estimate=jobs)


def _job_file_rows(path: Path) -> float:
    """Rows of a replayed job table: Parquet metadata, newlines of a CSV, or a gzip file's size (0 if unreadable)."""
    from dctwin.safeio import MAX_JOB_FILE_BYTES, read_input

    try:  # the bytes the job-table reader then parses (dctwin.safeio.read_once)
        data = read_input(path, MAX_JOB_FILE_BYTES, what="job table").data
        name = path.name.lower()
        if name.endswith((".parquet", ".pq")):
            import io

            import pyarrow.parquet as pq

            return float(pq.ParquetFile(io.BytesIO(data)).metadata.num_rows)
        if name.endswith(".gz"):
            return len(data) * GZIP_RATIO / BYTES_PER_JOB_FILE_ROW
        return float(max(data.count(b"\n") - 1, 0))
    except Exception:  # noqa: BLE001 - the job-table reader reports a bad file with its own error
        return 0.0


def machine_memory_bytes() -> int:
    """Physical memory of this machine [B], or the container's cgroup limit if that is smaller."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total)


def check_run_fits(scenario: Scenario, memory_limit_bytes: float | None = None,
                   time_limit_s: float | None = None) -> RunEstimate:
    """Return the estimate, or raise CapacityError if the run would not fit.

    ``memory_limit_bytes`` defaults to 80 % of this machine's memory; ``time_limit_s``
    defaults to no limit (a long run is the user's choice; memory is what kills it).
    """
    est = estimate_run(scenario)
    if memory_limit_bytes is None:
        have = machine_memory_bytes()
        usable = USABLE_MEMORY_SHARE * have
        have_text = f"this machine has {_bytes(have)} ({_bytes(usable)} usable)"
    else:
        usable = float(memory_limit_bytes)
        have_text = f"the memory limit is {_bytes(usable)}"
    problems = []
    if est.memory_bytes > usable:
        problems.append(have_text)
    if time_limit_s is not None and est.seconds > time_limit_s:
        problems.append(f"the time limit is {_duration(time_limit_s)}")
    if problems:
        raise CapacityError(
            f"scenario '{scenario.name}' is too large to run here: it would need {est.describe()}, but "
            f"{' and '.join(problems)}. Use a longer simulation.step_s, a shorter simulation.duration_days "
            f"or fewer racks.")
    return est


def _bytes(n: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e3:,.0f} kB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7_200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86_400:
        return f"{s / 3600:.1f} h"
    if s < 2 * 365 * 86_400:
        return f"{s / 86_400:,.0f} days"
    return f"{s / (365 * 86_400):,.0f} years"


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e9 else f"{n:.2g}"
