"""Calibrated and assumed constants of the performance model.

They live in ``perf/data/calibration.yaml``, each with its source: either a
published measurement it was fitted to (the fit is reproduced by
``dctwin.perf.reference.calibration_report``) or a labelled assumption.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dctwin.errors import InputError

__all__ = ["load_params", "read_params_file"]


def read_params_file(path: Path) -> dict[str, dict[str, float]]:
    """Read ``{section: {name: {value, source}}}`` into ``{section: {name: value}}``."""
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read calibration file: {exc}", file=file) from None
    sources = doc.get("sources") or {}
    out: dict[str, dict[str, float]] = {}
    for section, entries in doc.items():
        if section == "sources":
            continue
        out[section] = {}
        for name, entry in (entries or {}).items():
            where = f"{section}.{name}"
            if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
                raise InputError("each constant needs {value: ..., source: KEY}", file=file, field=where, value=entry)
            if entry["source"] not in sources:
                raise InputError("source key not in the file's 'sources'", file=file, field=f"{where}.source",
                                 value=entry["source"], allowed=", ".join(sources))
            value: Any = entry["value"]
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    pass
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError("value must be a number", file=file, field=f"{where}.value", value=value)
            out[section][name] = float(value)
    return out


@lru_cache(maxsize=1)
def load_params() -> dict[str, dict[str, float]]:
    """The shipped constants, by section ('training', 'inference', 'power_cap')."""
    return read_params_file(Path(str(resources.files("dctwin.perf") / "data" / "calibration.yaml")))
