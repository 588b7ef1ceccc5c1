"""Checks that need more than one field: catalog ids, power envelopes, input files."""

from __future__ import annotations

from dctwin.catalog import load_catalog
from dctwin.config.scenario import Scenario
from dctwin.errors import ScenarioError

__all__ = ["check_scenario"]


def check_scenario(scenario: Scenario, source: str) -> None:
    """Raise ScenarioError on the first cross-field problem."""
    catalog = load_catalog()
    installed_kw = 0.0
    for i, phase in enumerate(scenario.phases):
        for j, group in enumerate(phase.racks):
            if group.platform not in catalog:
                raise ScenarioError(
                    "unknown catalog id",
                    file=source,
                    field=f"phases[{i}].racks[{j}].platform",
                    value=group.platform,
                    allowed=", ".join(sorted(catalog)),
                )
            installed_kw += group.count * catalog[group.platform].unit_max_kw
        if installed_kw / 1000.0 > phase.power_envelope_mw:
            raise ScenarioError(
                f"racks installed by this phase draw {installed_kw / 1000.0:.1f} MW of IT power at full load, "
                f"more than its power envelope",
                file=source,
                field=f"phases[{i}].power_envelope_mw",
                value=phase.power_envelope_mw,
                allowed=f">= {installed_kw / 1000.0:.1f} MW, or fewer racks",
            )
    for name, cfg in (("climate", scenario.site.climate), ("grid", scenario.site.grid),
                      ("heat_demand", scenario.site.heat_demand)):
        if cfg.path is not None and not cfg.path.is_file():
            raise ScenarioError(
                f"{name} file not found", file=source, field=f"site.{name}.path", value=str(cfg.path),
                allowed="an existing file",
            )
