"""Runs started from the dashboard: a queue worked by one background thread.

Each job keeps its stage, fraction done, elapsed time and time left, read by
the progress endpoint. One run at a time, since a run uses the machine's
cores; the rest wait in order.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dctwin.errors import DctwinError
from dctwin.report.progress import ProgressTracker

__all__ = ["Job", "JobManager", "Runner"]

log = logging.getLogger("dctwin.web")

Runner = Callable[[Any, Path, Callable[[str, float], None]], Any]
"""``runner(scenario, out_dir, progress)`` writes a complete run directory at ``out_dir``."""


def default_runner(scenario: Any, out_dir: Path, progress: Callable[[str, float], None],
                   finish: Callable[[Path], Any] | None = None) -> Any:
    from dctwin.orchestrator import run

    return run(scenario, out_dir, progress=progress, finish=finish)


@dataclass
class Job:
    id: str
    run_name: str
    state: str = "queued"           # queued, running, done, failed
    error: str = ""
    tracker: ProgressTracker = field(default_factory=ProgressTracker)
    submitted: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        eta = self.tracker.eta_s if self.state == "running" else (0.0 if self.state == "done" else None)
        return {
            "id": self.id, "run": self.run_name, "state": self.state, "stage": self.tracker.stage,
            "fraction": round(self.tracker.fraction, 4),
            "elapsed_s": round(self.tracker.elapsed_s, 1) if self.state != "queued" else 0.0,
            "eta_s": None if eta is None else round(eta, 1), "error": self.error,
        }


class JobManager:
    """Start runs in a background thread and report their progress."""

    def __init__(self, runs_dir: Path, runner: Runner | None = None, after: Callable[[Path], Any] | None = None,
                 max_jobs: int = 100, max_runs: int = 1000, min_free_mb: float = 2048.0) -> None:
        self.runs_dir = Path(runs_dir)
        self.max_runs = max_runs
        self.min_free_mb = min_free_mb
        self.runner = runner or default_runner
        self.after = after
        self.max_jobs = max_jobs
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dctwin-run")

    def reserved(self, run_name: str) -> bool:
        with self._lock:
            return any(j.run_name == run_name and j.state in ("queued", "running") for j in self._jobs.values())

    def _check_room(self) -> None:
        """Refuse a new run when the runs folder holds ``max_runs`` runs or its disk has under ``min_free_mb``."""
        import os
        import shutil

        try:
            count = sum(1 for e in os.scandir(self.runs_dir) if not e.name.startswith("."))
            free_mb = shutil.disk_usage(self.runs_dir).free / 2**20
        except OSError as exc:
            raise DctwinError(f"the runs folder cannot be read ({exc.strerror})") from None
        if count >= self.max_runs:
            raise DctwinError(f"the runs folder holds {count} runs, the limit of this dashboard is {self.max_runs}; "
                              "delete or move old runs first")
        if free_mb < self.min_free_mb:
            raise DctwinError(f"only {free_mb:,.0f} MB free on the runs folder's disk; a run needs at least "
                              f"{self.min_free_mb:,.0f} MB to be started from the dashboard")

    def submit(self, scenario: Any, run_name: str) -> Job:
        self._check_room()
        job = Job(id=secrets.token_hex(8), run_name=run_name)
        with self._lock:
            active = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if active >= self.max_jobs:
                raise DctwinError(f"too many runs waiting ({active}); try again when some have finished")
            self._jobs[job.id] = job
        self._pool.submit(self._work, job, scenario)
        return job

    def _work(self, job: Job, scenario: Any) -> None:
        job.tracker = ProgressTracker()
        job.state = "running"
        out = self.runs_dir / job.run_name
        try:
            if self.runner is default_runner:  # the report is written before the run appears
                self.runner(scenario, out, job.tracker, finish=self.after)
            else:
                self.runner(scenario, out, job.tracker)
                job.tracker("report", max(job.tracker.fraction, 0.97))
                if self.after is not None:
                    self.after(out)
            job.tracker("done", 1.0)
            job.state = "done"
        except DctwinError as exc:
            job.error = str(exc)
            job.state = "failed"
        except Exception as exc:  # a bug: keep the server up, say so, and log it loudly
            log.exception("run %s failed", job.run_name)
            job.error = f"internal error ({type(exc).__name__}); see the server log"
            job.state = "failed"

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.submitted, reverse=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
