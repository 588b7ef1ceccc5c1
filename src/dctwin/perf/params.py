"""Calibrated and assumed constants of the performance model, read once into a frozen ``PerfParams``.

They live in ``perf/data/calibration.yaml``, each with its source: either a
published measurement it was fitted to (the fit is reproduced by
``dctwin.perf.reference.calibration_report``) or a labelled assumption. A run
reads them once (``stages/chain.py``) and hands them down; the physics
functions take them as an argument (``None``: the packaged values, for callers
outside a run: checks, unit tests, the ``plan`` command).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from dctwin.datafile import read_data_yaml, read_sources, unwrap_sourced
from dctwin.errors import InputError

__all__ = ["SECTIONS", "SERVING_SOFTWARE", "PerfParams", "load_params", "packaged_perf_params", "read_params_file"]

SECTIONS = ("training", "inference", "power_cap")
# Serving stack whose measured efficiency the inference roofline uses -> the 'inference' constant fitted to it
# (perf/data/calibration.yaml): TensorRT-LLM as run in MLPerf Inference v4.0 (March 2024) and v5.1 (September
# 2025). The older one is the default: it gives the lower throughput.
SERVING_SOFTWARE = {"2024": "compute_efficiency", "2025": "compute_efficiency_2025"}


def read_params_file(path: Path) -> dict[str, dict[str, float]]:
    """Read ``{section: {name: {value, source}}}`` into ``{section: {name: value}}``."""
    file = str(path)
    doc = read_data_yaml(path, "calibration file")
    sources = read_sources(doc, file)
    return {section: unwrap_sourced(entries or {}, section, sources, file) for section, entries in doc.items()
            if section != "sources"}


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per set of values, built once
class PerfParams:
    """The performance model's constants by section, each a read-only mapping ``{name: value}``."""

    training: Mapping[str, float]
    inference: Mapping[str, float]
    power_cap: Mapping[str, float]

    @classmethod
    def of(cls, sections: Mapping[str, Mapping[str, float]]) -> PerfParams:
        """Frozen params from plain ``{section: {name: value}}`` (every section of ``SECTIONS`` required)."""
        return cls(**{s: MappingProxyType(dict(sections[s])) for s in SECTIONS})

    def __getitem__(self, section: str) -> Mapping[str, float]:
        if section not in SECTIONS:
            raise KeyError(section)
        return getattr(self, section)

    def replaced(self, section: str, **values: float) -> PerfParams:
        """A copy with ``values`` set in ``section`` (the calibration fit, tests); a name it lacks is refused."""
        old = self[section]
        unknown = sorted(set(values) - set(old))
        if unknown:
            raise InputError("names no performance-model constant", field=f"{section}.{unknown[0]}",
                             allowed=", ".join(sorted(old)))
        return PerfParams.of({s: ({**old, **values} if s == section else self[s]) for s in SECTIONS})

    def for_serving_software(self, software: str) -> PerfParams:
        """A copy whose inference GEMMs reach the efficiency fitted to serving stack ``software``
        (:data:`SERVING_SOFTWARE`; '2024' is this object's own ``compute_efficiency``)."""
        if isinstance(software, int) and not isinstance(software, bool):  # 2025 unquoted in a cases file
            software = str(software)
        if software not in SERVING_SOFTWARE:
            raise InputError("unknown serving software", field="serving_software", value=software,
                             allowed=", ".join(SERVING_SOFTWARE))
        value = self.inference[SERVING_SOFTWARE[software]]
        return self if value == self.inference["compute_efficiency"] else self.replaced("inference",
                                                                                       compute_efficiency=value)

    def digest(self, *sections: str) -> str:
        """SHA-256 of the named sections' values (all without names): what a stage-cache key hashes."""
        doc = {s: dict(self[s]) for s in (sections or SECTIONS)}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@cache
def packaged_perf_params() -> PerfParams:
    """The shipped constants (``perf/data/calibration.yaml``), read once per process."""
    doc = read_params_file(Path(str(resources.files("dctwin.perf") / "data" / "calibration.yaml")))
    return PerfParams.of(doc)


def load_params() -> PerfParams:
    """The shipped constants; ``load_params()["inference"]`` is the 'inference' section (as before)."""
    return packaged_perf_params()
