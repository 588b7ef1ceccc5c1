"""Find and read run directories under the dashboard's runs folder, refusing unsafe names.

A run name is one path component of letters, digits, '.', '_' and '-' that
does not start with a dot; it must resolve to a direct child of the runs
folder (so neither '..', encoded slashes nor symlinks lead outside).
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from dctwin.errors import InputError
from dctwin.results.run_dir import KPIS, MANIFEST, is_complete_run, manifest_problem
from dctwin.results.timing import read_timing

__all__ = ["RUN_NAME", "RunStore", "valid_run_name"]

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")


def valid_run_name(name: str) -> bool:
    return isinstance(name, str) and bool(RUN_NAME.fullmatch(name)) and ".." not in name


class RunStore:
    """The runs folder: list runs, resolve a name to its directory, cache summaries by mtime."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = Path(runs_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        """The directory of a complete run, or ``InputError`` (bad name) / ``FileNotFoundError`` (no such run)."""
        if not valid_run_name(name):
            raise InputError("invalid run name", field="run", value=name[:80] if isinstance(name, str) else name,
                             allowed="letters, digits, '.', '_' and '-' (one folder name, no '..')")
        p = (self.root / name).resolve()
        if p.parent != self._real_root or not is_complete_run(p):
            raise FileNotFoundError(name)
        return p

    def exists(self, name: str) -> bool:
        return (self.root / name).exists()

    def summary(self, name: str) -> dict[str, Any]:
        """Name, scenario, times and headline KPIs of one run (cached until its manifest changes)."""
        p = self.path(name)
        mtime = (p / MANIFEST).stat().st_mtime
        with self._lock:
            hit = self._cache.get(name)
            if hit and hit[0] == mtime:
                return hit[1]
        manifest = json.loads((p / MANIFEST).read_text(encoding="utf-8"))
        refused = manifest_problem(manifest)
        if refused:  # listed by name only: its fields are not the run's (the run page says why)
            manifest = {"kind": "replay" if manifest.get("kind") == "replay" else "run",
                        "scenario_name": "(refused: manifest changed after the run)"}
        try:
            kpis = {} if refused else json.loads((p / KPIS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kpis = {}
        timing = {} if refused else read_timing(p, manifest)
        out = {
            "name": name,
            "kind": str(manifest.get("kind", "run")),
            "scenario_name": str(manifest.get("scenario_name", "")),
            "seed": manifest.get("seed"),
            "started_utc": str(timing.get("started_utc", "")),
            "wall_time_s": timing.get("wall_time_s"),
            "dctwin_version": str(manifest.get("dctwin_version", "")),
            "has_report": (p / "report.html").is_file(),
            "kpis": {k: v for k, v in kpis.items() if isinstance(v, (int, float, str, bool)) or v is None}
            if isinstance(kpis, dict) else {},
        }
        with self._lock:
            self._cache[name] = (mtime, out)
        return out

    def list(self) -> list[dict[str, Any]]:
        """Summaries of every complete run with a valid name, newest first."""
        out = []
        for child in self.root.iterdir():
            if child.name.startswith(".") or not valid_run_name(child.name) or not child.is_dir():
                continue
            try:
                out.append(self.summary(child.name))
            except (FileNotFoundError, InputError, OSError, ValueError):
                continue
        return sorted(out, key=lambda s: (s["started_utc"], s["name"]), reverse=True)
