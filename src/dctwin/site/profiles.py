"""Read the site data files in ``site/data/<kind>/<id>.yaml``.

Every number is ``{value: X, source: KEY}`` with KEY in the file's ``sources``
mapping, as in the hardware catalog, so no figure enters a model unsourced.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from dctwin.datafile import read_data_yaml, read_sources, sourced_value
from dctwin.errors import InputError

__all__ = ["Profile", "available_profiles", "load_profile", "profile_header"]

Profile = dict[str, Any]


def _data_dir(kind: str) -> Path:
    return Path(str(resources.files("dctwin.site") / "data" / kind))


def available_profiles(kind: str) -> list[str]:
    """Ids of the packaged data files of one kind ('climate', 'grid', 'heat')."""
    d = _data_dir(kind)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


@lru_cache(maxsize=32)
def load_profile(kind: str, name: str) -> Profile:
    """Values of data file ``data/<kind>/<name>.yaml`` by key (numbers and lists), sources checked."""
    path = _data_dir(kind) / f"{name}.yaml"
    if not path.is_file():
        raise InputError(
            f"unknown {kind} profile",
            field=kind,
            value=name,
            allowed=", ".join(available_profiles(kind)) or "(none packaged)",
        )
    file = str(path)
    doc = read_data_yaml(path, "data file")
    if not isinstance(doc.get("values"), dict):
        raise InputError("data file needs a 'values' mapping", file=file, field="values")
    sources = read_sources(doc, file)
    return {key: sourced_value(entry, f"values.{key}", sources, file, shape="any")[0]
            for key, entry in doc["values"].items()}


@lru_cache(maxsize=64)
def profile_header(kind: str, name: str) -> dict[str, Any]:
    """Top-level entries of a data file other than ``values`` and ``sources`` (id, name, zone, country, location)."""
    load_profile(kind, name)  # refuses unknown ids and unsourced numbers
    doc = read_data_yaml(_data_dir(kind) / f"{name}.yaml", "data file")
    return {k: v for k, v in doc.items() if k not in ("values", "sources")}
