"""Read the site data files in ``site/data/<kind>/<id>.yaml``.

Every number is ``{value: X, source: KEY}`` with KEY in the file's ``sources``
mapping, as in the hardware catalog, so no figure enters a model unsourced.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dctwin.errors import InputError

__all__ = ["Profile", "available_profiles", "load_profile"]

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
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read data file: {exc}", file=file) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("values"), dict):
        raise InputError("data file needs a 'values' mapping", file=file)
    sources = doc.get("sources") or {}
    out: Profile = {}
    for key, entry in doc["values"].items():
        if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
            raise InputError("each value needs {value: ..., source: KEY}", file=file, field=f"values.{key}")
        if entry["source"] not in sources:
            raise InputError(
                "source key not in the file's 'sources'",
                file=file,
                field=f"values.{key}.source",
                value=entry["source"],
                allowed=", ".join(sources),
            )
        out[key] = entry["value"]
    return out
