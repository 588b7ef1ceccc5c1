"""Read the facility parameter files in ``facility/data``.

Every number is ``{value: X, source: KEY}`` (optionally with a ``note``) and
KEY must name an entry of the file's ``sources`` mapping, so no parameter
enters the physics without its source. Values come back as plain floats or
tuples of floats.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dctwin.datafile import read_data_yaml, read_sources, unwrap_sourced
from dctwin.errors import InputError

__all__ = ["FacilityParams", "design_params", "facility_params", "load_params", "packaged_params", "read_param_file",
           "validate_overrides"]

_FILES = ("it_power", "power_chain", "cooling", "heat_reuse", "water", "air")


def read_param_file(path: Path) -> dict[str, Any]:
    """Parse one parameter file; return its contents without the ``sources`` block, numbers unwrapped."""
    file = str(path)
    doc = read_data_yaml(path, "facility parameter file")
    sources = read_sources(doc, file)
    return {k: unwrap_sourced(v, k, sources, file) for k, v in doc.items() if k != "sources"}


@cache
def _packaged(name: str) -> dict[str, Any]:
    if name not in _FILES:
        raise InputError("unknown facility parameter file", field="name", value=name, allowed=", ".join(_FILES))
    root = resources.files("dctwin.facility") / "data" / f"{name}.yaml"
    return read_param_file(Path(str(root)))


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per set of overrides (``_facility_params``)
class FacilityParams:
    """Every facility parameter file of one run, read once, overrides applied; each a read-only mapping."""

    it_power: Mapping[str, Any]
    power_chain: Mapping[str, Any]
    cooling: Mapping[str, Any]
    heat_reuse: Mapping[str, Any]
    water: Mapping[str, Any]
    air: Mapping[str, Any]

    def digest(self, *names: str) -> str:
        """SHA-256 of the named files' values (all without names): what a stage-cache key hashes."""
        doc = {n: getattr(self, n) for n in (names or _FILES)}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=dict).encode()).hexdigest()


def load_params(name: str) -> dict[str, Any]:
    """The packaged parameters of ``name`` in {it_power, power_chain, cooling, heat_reuse, water, air}."""
    return _packaged(name)


def facility_params(overrides: Mapping[str, Any] | None = None) -> FacilityParams:
    """The facility parameters with ``overrides`` (e.g. a calibrated scenario's ``facility.model_parameters``:
    {"cooling.values.dry_cooler_fan_kw_per_kw": 0.025}) applied; refused when one names no packaged number."""
    overrides = overrides or {}
    validate_overrides(overrides)
    return _facility_params(tuple(sorted((k, tuple(v) if isinstance(v, list | tuple) else v)
                                         for k, v in overrides.items())))


def design_params(design) -> FacilityParams:
    """The facility parameters of a facility design: packaged, with its ``model_parameters`` applied."""
    return facility_params(getattr(design, "model_parameters", None))


def packaged_params() -> FacilityParams:
    """The packaged facility parameters, without overrides (for callers outside a run: checks, unit tests)."""
    return _facility_params(())


@functools.lru_cache(maxsize=16)
def _facility_params(overrides: tuple[tuple[str, Any], ...]) -> FacilityParams:
    files = {}
    for name in _FILES:
        mine = tuple((k, v) for k, v in overrides if k.split(".", 1)[0] == name)
        files[name] = _frozen(_with_overrides(name, mine) if mine else _packaged(name))
    return FacilityParams(**files)


def _frozen(node: Any) -> Any:
    if isinstance(node, dict):
        return MappingProxyType({k: _frozen(v) for k, v in node.items()})
    return node


@functools.lru_cache(maxsize=64)
def _with_overrides(name: str, overrides: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    out = copy.deepcopy(_packaged(name))
    for key, value in overrides:
        *path, leaf = key.split(".")[1:]
        node = out
        for part in path:
            node = node[part]
        node[leaf] = value
    return out


def validate_overrides(overrides: Mapping[str, Any]) -> None:
    """Refuse an override whose path names no packaged number, or whose value is not a positive number
    (a list must match the packaged list's length), or one of the IT power model, which the cluster and the
    operation read as packaged (an override there would change only part of the run)."""
    for key, value in overrides.items():
        name, *path = key.split(".")
        if name == "it_power":
            raise InputError("the IT power model's parameters cannot be overridden per scenario", field=key,
                             allowed=", ".join(f for f in _FILES if f != "it_power"))
        node: Any = _packaged(name) if name in _FILES else None
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or isinstance(node, dict) or not path:
            raise InputError("names no facility model parameter", field=key,
                             allowed="FILE.PATH.KEY of a number in facility/data/FILE.yaml, e.g. "
                                     "cooling.values.dry_cooler_fan_kw_per_kw")
        ok = (len(value) == len(node) and all(_positive(v) for v in value)) if isinstance(node, tuple | list) \
            and isinstance(value, tuple | list) else _positive(value) and not isinstance(node, tuple | list)
        if not ok:
            raise InputError("must be a positive finite number (a list as long as the packaged one)", field=key,
                             value=value)


def _positive(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 < float(v) < float("inf")
