"""Read a run directory for reporting: tolerant of missing tables and columns.

The report reads the files directly (not through the scenario schema), so a
run written by an older or newer dctwin still opens: whatever is missing
drops the figure that needs it, with a note, instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dctwin.errors import InputError
from dctwin.results.run_dir import KPIS, MANIFEST, read_manifest, read_table, refuse_replay, run_files

__all__ = ["Missing", "RunData", "load_run"]


class Missing(Exception):
    """A figure cannot be drawn because a table or column is absent; the message says which."""


@dataclass
class RunData:
    """What the report needs from one run: name, manifest, KPIs and tables."""

    path: Path
    name: str
    manifest: dict[str, Any]
    kpis: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """One table; raises ``Missing`` naming the absent table or columns."""
        if name not in self.tables:
            raise Missing(f"table '{name}' is not in this run")
        frame = self.tables[name]
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise Missing(f"table '{name}' has no column {', '.join(repr(c) for c in absent)}")
        return frame

    @property
    def scenario(self) -> dict[str, Any]:
        sc = self.manifest.get("scenario")
        return sc if isinstance(sc, dict) else {}

    @property
    def timing(self) -> dict[str, Any]:
        """Wall-clock times of the run (``timing.json``; not in the report: they differ between equal runs)."""
        from dctwin.results.timing import read_timing

        return read_timing(self.path, self.manifest)

    @property
    def label(self) -> str:
        return str(self.manifest.get("scenario_name") or self.name)


def load_run(path: str | Path) -> RunData:
    """Read a complete run directory (``InputError`` if it is not one)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError("run directory not found", file=str(path), allowed="a folder written by `dctwin run`")
    manifest = read_manifest(path)
    refuse_replay(path, manifest)
    try:
        kpis = json.loads((path / KPIS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kpis = {}
    if not isinstance(kpis, dict):
        kpis = {}
    tables = {}
    # only the tables the manifest lists, whose hashes read_manifest checked: a file planted beside them is not read
    for p in [path / n for n in run_files(manifest) if n.endswith(".parquet") and "/" not in n]:
        try:
            tables[p.stem] = read_table(p)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise InputError(f"cannot read table: {exc}", file=str(p)) from None
    if "timeseries" in tables:
        tables["timeseries"] = derive_columns(tables["timeseries"])
    return RunData(path=path, name=path.name, manifest=manifest, kpis=kpis, tables=tables)


def derive_columns(ts: pd.DataFrame) -> pd.DataFrame:
    """Add ``utilisation`` and ``pue`` from their parts when a run did not write them."""
    import numpy as np

    add = {}
    busy = [c for c in ("gpus_busy_training", "gpus_busy_inference") if c in ts.columns]
    if "utilisation" not in ts.columns and busy and "gpus_online" in ts.columns:
        online = ts["gpus_online"].to_numpy(dtype=np.float64)
        total = sum(ts[c].to_numpy(dtype=np.float64) for c in busy)
        add["utilisation"] = np.divide(total, online, out=np.zeros(len(ts)), where=online > 0)
    if "pue" not in ts.columns and {"grid_power_kw", "it_power_kw"} <= set(ts.columns):
        it = ts["it_power_kw"].to_numpy(dtype=np.float64)
        add["pue"] = np.divide(ts["grid_power_kw"].to_numpy(dtype=np.float64), it, out=np.full(len(ts), np.nan),
                               where=it > 0)
    return ts.assign(**add) if add else ts


def manifest_path(path: Path) -> Path:
    return Path(path) / MANIFEST
