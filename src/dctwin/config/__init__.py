"""Scenario schema and loading."""

from dctwin.config.load import DEFAULT_SCENARIO, load_scenario, packaged_scenarios, scenario_from_dict
from dctwin.config.scenario import Scenario

__all__ = ["Scenario", "load_scenario", "scenario_from_dict", "packaged_scenarios", "DEFAULT_SCENARIO"]
