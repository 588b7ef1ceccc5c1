"""A sweep's folder on disk: the plan, one file per finished run, and the gathered tables.

Each finished run is one JSON file written atomically (temp file, then
rename), so an interrupted sweep keeps every run it finished, reruns the
rest on resume, and never counts a run twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dctwin.errors import InputError
from dctwin.safeio import open_regular
from dctwin.sweep.spec import SweepRun

__all__ = ["SweepStore"]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class SweepStore:
    """``root/plan.json``, ``root/done/<run_id>.json``, ``root/failed/<run_id>.json``, tables and report."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.done_dir = self.root / "done"
        self.failed_dir = self.root / "failed"

    def open(self, runs: list[SweepRun], spec_text: str, fresh: bool = False) -> None:
        """Create the folder, or check that an existing one belongs to the same sweep."""
        plan = {"runs": [r.run_id for r in runs], "spec": spec_text}
        plan_path = self.root / "plan.json"
        from dctwin.safeout import check_output_folder

        check_output_folder(self.root)  # a file, a run directory or a folder inside one is refused
        if not plan_path.exists() and any(p.name != LOCK for p in self.root.iterdir()):
            raise InputError("folder exists and holds no sweep; dctwin does not write a sweep among other files",
                             file=str(self.root), field="--out", allowed="a new or empty folder, or a sweep's folder")
        self._lock()
        try:
            self._check_and_write_plan(plan, plan_path, spec_text, fresh)
        except BaseException:
            self.close()
            raise

    def _check_and_write_plan(self, plan: dict, plan_path: Path, spec_text: str, fresh: bool) -> None:
        if plan_path.exists() and not fresh:
            try:
                old = json.loads(plan_path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                old = None
            if not isinstance(old, dict):
                raise InputError("plan.json of this sweep folder is unreadable; use --fresh or another --out",
                                 file=str(plan_path))
            if old.get("runs") != plan["runs"]:
                raise InputError("this sweep folder holds a different sweep; use another --out or --fresh",
                                 file=str(self.root))
        self.done_dir.mkdir(parents=True, exist_ok=True)
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            for d in (self.done_dir, self.failed_dir):
                for p in d.glob("*.json"):
                    p.unlink()
        _atomic_write(plan_path, json.dumps(plan, indent=1))

    def _lock(self) -> None:
        """Hold the folder's lock until ``close`` or this process ends: a second sweep into the same folder (it
        reran every run and, with --fresh, deleted the first one's records under it) is refused. The kernel drops
        the lock when the process ends, killed or not."""
        import fcntl

        try:
            fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InputError(f"cannot create the sweep folder's lock file: {exc.strerror}", file=str(self.root),
                             field="--out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError("another dctwin sweep is writing this folder", file=str(self.root), field="--out",
                             allowed="wait until it finishes (then this one resumes it), or another --out") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the folder's lock (``open`` took it)."""
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            os.close(fd)

    def finished_ids(self) -> set[str]:
        return set(_records(self.done_dir, _DONE_KEYS))

    def record_done(self, run: SweepRun, kpis: dict[str, Any], wall_s: float) -> None:
        row = {"run_id": run.run_id, "point_id": run.point_id, "repetition": run.repetition, "seed": run.seed,
               "axes": run.axis_values, "kpis": kpis, "wall_s": wall_s}
        row = json.loads(json.dumps(row, sort_keys=True, default=float))  # as it reads back
        _atomic_write(self.done_dir / f"{run.run_id}.json", json.dumps({**row, _SEAL: _seal(row)}, sort_keys=True))
        (self.failed_dir / f"{run.run_id}.json").unlink(missing_ok=True)

    def record_failed(self, run: SweepRun, message: str) -> None:
        _atomic_write(self.failed_dir / f"{run.run_id}.json", json.dumps({"run_id": run.run_id, "error": message}))

    def failed(self) -> dict[str, str]:
        return {k: str(v["error"]) for k, v in _records(self.failed_dir, ("run_id", "error")).items()}

    def rows(self) -> list[dict[str, Any]]:
        return [v for _, v in sorted(_records(self.done_dir, _DONE_KEYS).items())]


LOCK = ".sweep.lock"
_DONE_KEYS = ("run_id", "point_id", "repetition", "seed", "axes", "kpis", "wall_s", "record_sha256")
_SEAL = "record_sha256"


def _seal(row: dict[str, Any]) -> str:
    """SHA-256 of a finished run's record without its seal (canonical JSON): an edited KPI or seed shows."""
    body = {k: v for k, v in row.items() if k != _SEAL}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read_record(p: Path) -> Any:
    try:  # a regular file only: a FIFO named like a record blocked the resumed sweep for good
        with open_regular(p, follow=False) as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


def _records(folder: Path, keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The intact records of ``folder`` by run id. A damaged one (truncated, not this run's, a field missing, a
    finished run's record whose seal does not match: edited, or written before records were sealed) is deleted,
    so a resumed sweep runs that run again instead of failing on it or counting it done."""
    out = {}
    for p in folder.glob("*.json"):
        rec = _read_record(p)
        if (isinstance(rec, dict) and all(k in rec for k in keys) and rec["run_id"] == p.stem
                and (_SEAL not in keys or rec[_SEAL] == _seal(rec))):
            out[p.stem] = rec
        else:
            p.unlink(missing_ok=True)
    return out
