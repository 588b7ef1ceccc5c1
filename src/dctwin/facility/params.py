"""Read the facility parameter files in ``facility/data``.

Every number is ``{value: X, source: KEY}`` (optionally with a ``note``) and
KEY must name an entry of the file's ``sources`` mapping, so no parameter
enters the physics without its source. Values come back as plain floats or
tuples of floats.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dctwin.errors import InputError

__all__ = ["load_params", "read_param_file"]

_FILES = ("it_power", "power_chain", "cooling", "heat_reuse", "water")


def _is_entry(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "source" in node


def _walk(node: Any, where: str, sources: dict[str, str], file: str) -> Any:
    if _is_entry(node):
        key = node["source"]
        if key not in sources:
            raise InputError("source key not in the file's 'sources'", file=file, field=f"{where}.source",
                             value=key, allowed=", ".join(sources))
        value = node["value"]
        if isinstance(value, list):
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise InputError("list values must be numbers", file=file, field=f"{where}.value", value=value)
            return tuple(float(v) for v in value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError("value must be a number", file=file, field=f"{where}.value", value=value)
        return float(value)
    if isinstance(node, dict):
        return {k: _walk(v, f"{where}.{k}" if where else k, sources, file) for k, v in node.items()}
    if isinstance(node, list):
        return [str(v) for v in node]  # keyword lists
    raise InputError("each number needs {value: ..., source: KEY}", file=file, field=where, value=node)


def read_param_file(path: Path) -> dict[str, Any]:
    """Parse one parameter file; return its contents without the ``sources`` block, numbers unwrapped."""
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read facility parameter file: {exc}", file=file) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
        raise InputError("parameter file must be a mapping with a 'sources' mapping", file=file)
    sources = {str(k): str(v) for k, v in doc["sources"].items()}
    return {k: _walk(v, k, sources, file) for k, v in doc.items() if k != "sources"}


@cache
def load_params(name: str) -> dict[str, Any]:
    """The parameters of ``name`` in {it_power, power_chain, cooling, heat_reuse, water}."""
    if name not in _FILES:
        raise InputError("unknown facility parameter file", field="name", value=name, allowed=", ".join(_FILES))
    root = resources.files("dctwin.facility") / "data" / f"{name}.yaml"
    return read_param_file(Path(str(root)))
