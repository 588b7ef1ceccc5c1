"""dctwin: an open digital twin of an AI datacenter.

The public API for notebooks and scripts::

    import dctwin
    result = dctwin.run(dctwin.load_scenario(), out_dir="runs/demo")
    result.kpis["pue"], result.timeseries
    dctwin.open_run("runs/demo"); dctwin.query("runs/demo", "SELECT * FROM monthly")
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_scenario", "run", "simulate", "open_run", "query", "Scenario", "RunResult",
           "DctwinError"]

_LAZY = {
    "load_scenario": ("dctwin.config", "load_scenario"),
    "Scenario": ("dctwin.config", "Scenario"),
    "run": ("dctwin.orchestrator", "run"),
    "simulate": ("dctwin.orchestrator", "simulate"),
    "open_run": ("dctwin.results", "open_run"),
    "RunResult": ("dctwin.results", "RunResult"),
    "query": ("dctwin.report", "query"),
    "DctwinError": ("dctwin.errors", "DctwinError"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'dctwin' has no attribute '{name}'")
