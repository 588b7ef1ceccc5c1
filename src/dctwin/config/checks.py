"""Checks that need more than one field: catalog ids, power envelopes, input files."""

from __future__ import annotations

from dctwin.catalog import load_catalog
from dctwin.config.scenario import Scenario
from dctwin.errors import ScenarioError

__all__ = ["check_scenario"]


def _is_file(path) -> bool:
    """``path.is_file()``, False for names the OS refuses (too long, NUL byte) instead of raising."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


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
            platform = catalog[group.platform]
            # full load: the published rack power, or the sum of its parts where that is higher
            installed_kw += group.count * max(platform.unit_max_kw, platform.parts_max_kw)
        if installed_kw / 1000.0 > phase.power_envelope_mw:
            raise ScenarioError(
                f"racks installed by this phase draw {installed_kw / 1000.0:.1f} MW of IT power at full load, "
                f"more than its power envelope",
                file=source,
                field=f"phases[{i}].power_envelope_mw",
                value=phase.power_envelope_mw,
                allowed=f">= {installed_kw / 1000.0:.1f} MW, or fewer racks",
            )
    cooling = scenario.facility.cooling
    return_c = cooling.liquid_supply_temp_c + cooling.liquid_delta_t_k
    if cooling.heat_rejection != "cooling_tower" and cooling.design_ambient_c >= return_c:
        # the rejecters' rating is proportional to (return - air) and would be zero or negative
        raise ScenarioError(
            "dry coolers cannot reject heat into air at or above the facility-water return temperature",
            file=source, field="facility.cooling.design_ambient_c", value=cooling.design_ambient_c,
            allowed=f"< {return_c:g} °C (liquid_supply_temp_c + liquid_delta_t_k)",
        )
    for name, cfg in (("climate", scenario.site.climate), ("grid", scenario.site.grid),
                      ("heat_demand", scenario.site.heat_demand)):
        if cfg.path is not None and not _is_file(cfg.path):
            raise ScenarioError(
                f"{name} file not found", file=source, field=f"site.{name}.path", value=str(cfg.path),
                allowed="an existing file",
            )
    carbon = scenario.site.grid.carbon_path
    if carbon is not None and not _is_file(carbon):
        raise ScenarioError("carbon-intensity file not found", file=source, field="site.grid.carbon_path",
                            value=str(carbon), allowed="an existing file")
    jobs_path = scenario.workload.jobs_path
    if jobs_path is not None and not _is_file(jobs_path):
        raise ScenarioError("job table file not found", file=source, field="workload.jobs_path",
                            value=str(jobs_path), allowed="an existing CSV or Parquet file")
    for i, svc in enumerate(scenario.workload.inference):
        if svc.profile_path is not None and not _is_file(svc.profile_path):
            raise ScenarioError("inference profile file not found", file=source,
                                field=f"workload.inference[{i}].profile_path", value=str(svc.profile_path),
                                allowed="a file written by `dctwin workload fit` on a request log")
    profile_path = scenario.workload.training.dev.profile_path
    if profile_path is not None and not _is_file(profile_path):
        raise ScenarioError("workload profile file not found", file=source, field="workload.training.dev.profile_path",
                            value=str(profile_path), allowed="a file written by `dctwin workload fit`")
