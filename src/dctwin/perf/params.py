"""Calibrated and assumed constants of the performance model.

They live in ``perf/data/calibration.yaml``, each with its source: either a
published measurement it was fitted to (the fit is reproduced by
``dctwin.perf.reference.calibration_report``) or a labelled assumption.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from dctwin.datafile import read_data_yaml, read_sources, unwrap_sourced

__all__ = ["load_params", "read_params_file"]


def read_params_file(path: Path) -> dict[str, dict[str, float]]:
    """Read ``{section: {name: {value, source}}}`` into ``{section: {name: value}}``."""
    file = str(path)
    doc = read_data_yaml(path, "calibration file")
    sources = read_sources(doc, file)
    return {section: unwrap_sourced(entries or {}, section, sources, file) for section, entries in doc.items()
            if section != "sources"}


@lru_cache(maxsize=1)
def load_params() -> dict[str, dict[str, float]]:
    """The shipped constants, by section ('training', 'inference', 'power_cap')."""
    return read_params_file(Path(str(resources.files("dctwin.perf") / "data" / "calibration.yaml")))
