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

from dctwin.datafile import read_data_yaml, read_sources, unwrap_sourced
from dctwin.errors import InputError

__all__ = ["load_params", "read_param_file"]

_FILES = ("it_power", "power_chain", "cooling", "heat_reuse", "water")


def read_param_file(path: Path) -> dict[str, Any]:
    """Parse one parameter file; return its contents without the ``sources`` block, numbers unwrapped."""
    file = str(path)
    doc = read_data_yaml(path, "facility parameter file")
    sources = read_sources(doc, file)
    return {k: unwrap_sourced(v, k, sources, file) for k, v in doc.items() if k != "sources"}


@cache
def load_params(name: str) -> dict[str, Any]:
    """The parameters of ``name`` in {it_power, power_chain, cooling, heat_reuse, water}."""
    if name not in _FILES:
        raise InputError("unknown facility parameter file", field="name", value=name, allowed=", ".join(_FILES))
    root = resources.files("dctwin.facility") / "data" / f"{name}.yaml"
    return read_param_file(Path(str(root)))
