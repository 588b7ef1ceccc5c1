"""Checks that need more than one field: catalog ids, power envelopes, input files."""

from __future__ import annotations

import datetime as dt
import os

from dctwin.catalog import load_catalog
from dctwin.config.scenario import Scenario
from dctwin.errors import InputError, ScenarioError

__all__ = ["check_scenario"]


def _is_file(path) -> bool:
    """``path.is_file()``, False for names the OS refuses (too long, NUL byte) instead of raising."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def check_scenario(scenario: Scenario, source: str) -> None:
    """Raise ScenarioError on the first cross-field problem."""
    _check_racks(scenario, source)
    _check_online(scenario, source)
    _check_cooling(scenario, source)
    _check_input_files(scenario, source)
    _check_paths_exist(scenario, source)
    _check_registry_names(scenario, source)
    profile_path = scenario.workload.training.dev.profile_path
    if profile_path is not None and not _is_file(profile_path):
        raise ScenarioError("workload profile file not found", file=source, field="workload.training.dev.profile_path",
                            value=str(profile_path), allowed="a file written by `dctwin workload fit`")


def _check_racks(scenario: Scenario, source: str) -> None:
    """Every rack platform is in the catalog and each phase's racks fit its power envelope at full load."""
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


def _check_online(scenario: Scenario, source: str) -> None:
    """Some racks are online at a step of the span (what `run` needs), so `scenario validate` refuses it too."""
    sim = scenario.simulation
    last_step = dt.datetime.combine(sim.start, dt.time()) + dt.timedelta(seconds=(sim.n_steps - 1) * sim.step_s)
    if not any(g.count > 0 and dt.datetime.combine(p.start, dt.time()) <= last_step
               for p in scenario.phases for g in p.racks):
        raise ScenarioError("no racks are online during the simulated span", file=source, field="phases",
                            allowed="a phase with racks (count > 0) starting before simulation.start + "
                            "simulation.duration_days")


def _check_cooling(scenario: Scenario, source: str) -> None:
    cooling = scenario.facility.cooling
    return_c = cooling.liquid_supply_temp_c + cooling.liquid_delta_t_k
    if cooling.heat_rejection != "cooling_tower" and cooling.design_ambient_c >= return_c:
        # the rejecters' rating is proportional to (return - air) and would be zero or negative
        raise ScenarioError(
            "dry coolers cannot reject heat into air at or above the facility-water return temperature",
            file=source, field="facility.cooling.design_ambient_c", value=cooling.design_ambient_c,
            allowed=f"< {return_c:g} °C (liquid_supply_temp_c + liquid_delta_t_k)",
        )


def _check_paths_exist(scenario: Scenario, source: str) -> None:
    """Site series, carbon, job table and inference profiles named in the scenario exist as files."""
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


def _check_input_files(scenario: Scenario, source: str) -> None:
    """Every input path is a regular file within its size cap, checked before any byte of it is read."""
    from dctwin.safeio import MAX_JOB_FILE_BYTES, MAX_SERIES_BYTES, check_input_file

    site = scenario.site
    paths = [(f"site.{n}.path", c.path, MAX_SERIES_BYTES)
             for n, c in (("climate", site.climate), ("grid", site.grid), ("heat_demand", site.heat_demand))]
    paths += [("workload.jobs_path", scenario.workload.jobs_path, MAX_JOB_FILE_BYTES),
              ("workload.training.dev.profile_path", scenario.workload.training.dev.profile_path, MAX_SERIES_BYTES)]
    paths += [(f"workload.inference[{i}].profile_path", svc.profile_path, MAX_SERIES_BYTES)
              for i, svc in enumerate(scenario.workload.inference)]
    for field, path, cap in paths:
        if path is None or not os.path.lexists(path):  # a missing file is reported as not found below
            continue
        try:
            check_input_file(path, cap)
        except InputError as exc:
            raise ScenarioError(exc.problem, file=source, field=field, value=str(path)[:300],
                                allowed=exc.allowed or "a regular file") from None


def _check_registry_names(scenario: Scenario, source: str) -> None:
    """Names that pick a plug-in or data set (policy, placement, model, failure rates) exist, so
    `scenario validate` refuses what `run` would refuse."""
    from dctwin.cluster.failures import read_failure_rates
    from dctwin.cluster.placement import get_placement
    from dctwin.cluster.policies import get_policy
    from dctwin.perf import load_models

    sched = scenario.scheduler
    models = load_models()
    checks = [("scheduler.policy", lambda: get_policy(sched.policy)),
              ("scheduler.placement", lambda: get_placement(sched.placement))]
    named = [("workload.training.pretrain.model", scenario.workload.training.pretrain.model)]
    named += [(f"workload.inference[{i}].model", s.model) for i, s in enumerate(scenario.workload.inference)]
    for field, fn in checks:
        try:
            fn()
        except InputError as exc:
            raise ScenarioError(exc.problem, file=source, field=field, value=exc.value, allowed=exc.allowed) from None
    for field, model in named:
        if model not in models:
            raise ScenarioError("unknown model", file=source, field=field, value=model,
                                allowed=", ".join(sorted(models)))
    rates_id = read_failure_rates()["id"]
    if sched.failures.rates != rates_id:
        raise ScenarioError("unknown failure-rate data set", file=source, field="scheduler.failures.rates",
                            value=sched.failures.rates, allowed=rates_id)
