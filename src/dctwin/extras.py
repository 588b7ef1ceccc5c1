"""Optional dependencies: the core install runs scenarios and writes reports; the rest are extras.

=========  ==========================================  ===================================
extra      packages                                    needed by
=========  ==========================================  ===================================
query      duckdb                                      ``dctwin query``, ``report.connect``
plan       highspy                                     ``dctwin plan``
web        fastapi, uvicorn, python-multipart          ``dctwin serve``
ray        ray[default]                                ``dctwin sweep --ray``
png        kaleido (and Chromium or Chrome installed)  ``dctwin report --png``
compiled   numba                                       the compiled engine path of large runs
peer       hpcsim                                      the peer benchmark
=========  ==========================================  ===================================
"""

from __future__ import annotations

import importlib
from types import ModuleType

from dctwin.errors import DctwinError

__all__ = ["EXTRA_OF", "MissingExtra", "require"]

EXTRA_OF = {"duckdb": "query", "highspy": "plan", "fastapi": "web", "uvicorn": "web", "multipart": "web",
            "ray": "ray", "hpcsim": "peer", "kaleido": "png", "numba": "compiled"}


class MissingExtra(DctwinError):
    """A feature whose optional dependency is not installed."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or say which extra to install (exit code 2)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRA_OF[module]
        raise MissingExtra(f"{feature} needs the optional package '{module}', which is not installed; "
                           f"install it with: pip install 'dctwin[{extra}]'") from None
