"""Lazy package exports: a package names what it offers; the module behind a name loads on first use.

Keeps ``dctwin --help`` and small runs from importing what they never call (SciPy, HiGHS, plotting).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[attr]`` (a module path) when ``package.attr`` is first read."""

    def __getattr__(attr: str) -> Any:
        if attr not in names:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        module = importlib.import_module(names[attr])
        # bind every name this module provides, so a submodule of the same name (report.query) cannot shadow it
        namespace = vars(sys.modules[package])
        for name, source in names.items():
            if source == names[attr]:
                namespace[name] = getattr(module, name)
        return namespace[attr]

    return __getattr__
