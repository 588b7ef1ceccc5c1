"""``run_sweep``: expand, validate, resume, run on the chosen engine, gather, summarise."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dctwin.errors import InputError
from dctwin.results.run_dir import write_table
from dctwin.sweep.engine import run_local, run_on_ray
from dctwin.sweep.spec import SweepRun, expand_sweep, load_sweep
from dctwin.sweep.store import SweepStore
from dctwin.sweep.summary import percentiles, runs_table, sensitivity

__all__ = ["MAX_WORKERS", "SweepProgress", "SweepOutcome", "run_sweep"]

MAX_WORKERS = 256  # local worker processes of one sweep


@dataclass
class SweepProgress:
    """Counts for a progress display: ``done + failed`` of ``total``, with an ETA [s]."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    started: float = 0.0

    @property
    def eta_s(self) -> float | None:
        finished = self.done + self.failed - self.skipped
        if finished <= 0:
            return None
        rate = finished / max(time.perf_counter() - self.started, 1e-9)
        return (self.total - self.done - self.failed) / rate


@dataclass
class SweepOutcome:
    folder: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    sensitivity: pd.DataFrame
    failed: dict[str, str]
    missing: list[str] = field(default_factory=list)
    """Planned run ids with neither a result nor a recorded failure (the sweep is incomplete)."""


def run_sweep(
    sweep_path: str | Path,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    fresh: bool = False,
    on_progress: Callable[[SweepProgress], None] | None = None,
) -> SweepOutcome:
    """Run (or resume) the sweep in ``sweep_path``; write its tables into ``out_dir``.

    Runs already finished in ``out_dir`` are kept and not rerun; unfinished
    and failed ones are run again.
    """
    if workers is not None and not 1 <= workers <= MAX_WORKERS:  # a pool forks all its workers at once on Linux
        raise InputError("too many local worker processes" if workers > 1 else "at least one worker is needed",
                         field="--workers", value=workers,
                         allowed=f"1 to {MAX_WORKERS} (each holds a run in memory; more workers than cores do not "
                                 "finish sooner)")
    sweep_path = Path(sweep_path)
    spec = load_sweep(sweep_path)
    if spec.uncertainty is not None:
        return _run_study(spec, sweep_path, out_dir, workers, ray_address, on_progress)
    runs = expand_sweep(spec, source=str(sweep_path))
    store = SweepStore(Path(out_dir) if out_dir else Path("sweeps") / spec.name)
    store.open(runs, sweep_path.read_text(encoding="utf-8"), fresh=fresh)
    try:
        return _run_open(store, runs, workers, ray_address, on_progress)
    finally:
        store.close()


def _run_open(store: SweepStore, runs: list[SweepRun], workers: int | None, ray_address: str | None,
              on_progress: Callable[[SweepProgress], None] | None) -> SweepOutcome:
    """Run what the locked sweep folder has not finished, then gather."""
    finished = store.finished_ids()
    todo: list[SweepRun] = [r for r in runs if r.run_id not in finished]
    progress = SweepProgress(total=len(runs), done=len(runs) - len(todo), skipped=len(runs) - len(todo),
                             started=time.perf_counter())
    notify = on_progress or (lambda p: None)
    notify(progress)

    def on_done(run: SweepRun, ok: bool) -> None:
        if ok:
            progress.done += 1
        else:
            progress.failed += 1
        notify(progress)

    if todo:
        if ray_address:
            run_on_ray(todo, store, ray_address, on_done)
        else:
            run_local(todo, store, workers or os.cpu_count() or 1, on_done)
    return gather(store, [r.run_id for r in runs])


def gather(store: SweepStore, planned: list[str] | None = None) -> SweepOutcome:
    """Build and write the sweep's tables and report from the finished runs on disk."""
    rows = store.rows()
    table = runs_table([r for r in rows if planned is None or r["run_id"] in planned])  # not another sweep's runs
    summary = percentiles(table)
    sens = sensitivity(table) if len(table) else pd.DataFrame()
    write_table(table, store.root / "runs.parquet")
    write_table(summary, store.root / "summary.parquet")
    write_table(sens, store.root / "sensitivity.parquet")
    from dctwin.sweep.report import write_sweep_report

    write_sweep_report(store.root, table, summary, sens)
    failed = store.failed()
    recorded = set(table["run_id"]) if len(table) else set()
    missing = [r for r in planned or [] if r not in recorded and r not in failed]
    return SweepOutcome(folder=store.root, runs=table, summary=summary, sensitivity=sens, failed=failed,
                        missing=missing)


def _run_study(spec, sweep_path: Path, out_dir, workers, ray_address, on_progress) -> SweepOutcome:
    """An uncertainty study (``uncertainty:`` in the sweep file): see ``dctwin.sweep.study``."""
    from dctwin.sweep.study import run_uncertainty

    folder = Path(out_dir) if out_dir else Path("sweeps") / spec.name
    progress = SweepProgress(total=0, started=time.perf_counter())
    notify = on_progress or (lambda p: None)

    def tick(done: int, total: int) -> None:
        progress.total, progress.done = total, done
        notify(progress)

    res = run_uncertainty(spec.uncertainty, spec.base, spec.overrides, folder, str(sweep_path), workers=workers,
                          ray_address=ray_address, on_progress=tick)
    t = res["tables"]
    return SweepOutcome(folder=folder, runs=t["samples"], summary=t["summary"], sensitivity=t["sobol"], failed={})
