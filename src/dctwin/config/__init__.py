"""Scenario schema and loading.

The names below are imported on first use, so ``import dctwin.config.cluster``
(the cluster simulator's only config need) does not build the whole scenario
schema: that halves the imports of a bare cluster run (BENCHMARKS.md §6).
"""

from __future__ import annotations

from dctwin.lazy import lazy_exports

__all__ = ["Scenario", "load_scenario", "scenario_from_dict", "packaged_scenarios", "DEFAULT_SCENARIO"]

__getattr__ = lazy_exports(__name__, {
    "Scenario": "dctwin.config.scenario",
    **dict.fromkeys(("load_scenario", "scenario_from_dict", "packaged_scenarios", "DEFAULT_SCENARIO"),
                    "dctwin.config.load"),
})
