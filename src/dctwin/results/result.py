"""A run's results as pandas DataFrames, in memory or read back from a run directory."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dctwin.config import Scenario, scenario_from_dict
from dctwin.results.run_dir import KPIS, read_manifest, refuse_replay
from dctwin.results.timing import read_timing

__all__ = ["RunResult", "open_run"]


@dataclass
class RunResult:
    """KPIs, the resolved scenario and the run's tables (``timeseries``, ``monthly``, ``jobs``, ...)."""

    scenario: Scenario
    kpis: dict[str, Any]
    tables: MutableMapping[str, pd.DataFrame] = field(default_factory=dict)  # a simulated run's: dctwin.stages.Tables
    path: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)  # wall-clock times (timing.json), not reproducible

    def table(self, name: str) -> pd.DataFrame:
        """One table by name; lists the available names when it is missing."""
        if name not in self.tables:
            raise KeyError(f"no table '{name}'; available: {', '.join(sorted(self.tables))}")
        return self.tables[name]

    @property
    def timeseries(self) -> pd.DataFrame:
        return self.table("timeseries")

    @property
    def monthly(self) -> pd.DataFrame:
        return self.table("monthly")

    @property
    def jobs(self) -> pd.DataFrame:
        return self.table("jobs")


def open_run(path: str | Path) -> RunResult:
    """Read a complete run directory written by ``dctwin run``."""
    path = Path(path)
    manifest = read_manifest(path)
    refuse_replay(path, manifest)
    kpis = json.loads((path / KPIS).read_text(encoding="utf-8"))
    tables = {p.stem: pd.read_parquet(p) for p in sorted(path.glob("*.parquet"))}
    scenario = scenario_from_dict(manifest["scenario"], source=str(path / "manifest.json"))
    return RunResult(scenario=scenario, kpis=kpis, tables=tables, path=path, manifest=manifest,
                     timing=read_timing(path, manifest))
