"""Scenario schema and loading.

The names below are imported on first use, so ``import dctwin.config.cluster``
(the cluster simulator's only config need) does not build the whole scenario
schema: that halves the imports of a bare cluster run (BENCHMARKS.md §6).
"""

from __future__ import annotations

__all__ = ["Scenario", "load_scenario", "scenario_from_dict", "packaged_scenarios", "DEFAULT_SCENARIO"]

_LAZY = {
    "Scenario": "dctwin.config.scenario",
    "load_scenario": "dctwin.config.load",
    "scenario_from_dict": "dctwin.config.load",
    "packaged_scenarios": "dctwin.config.load",
    "DEFAULT_SCENARIO": "dctwin.config.load",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dctwin.config' has no attribute '{name}'")
