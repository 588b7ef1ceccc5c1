"""Replay: the facility model driven by measured IT power and weather, beside what was measured.

The scenario gives the design (installed racks, cooling, power chain, heat reuse);
the telemetry gives what happened. Weather, district-heating demand and supply
temperature come from the telemetry where it has them, else from the scenario's own
site series at the same instants (each such fallback is listed in the quality table).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.errors import InputError
from dctwin.telemetry.align import Telemetry
from dctwin.telemetry.quantities import QUANTITIES

__all__ = ["ModelInputs", "model_inputs", "predict", "replay_table"]


@dataclass(frozen=True)
class ModelInputs:
    """Everything the facility model needs on the telemetry's grid."""

    time: pd.Series  # UTC step starts
    step_s: int
    it_power_kw: np.ndarray  # measured; missing steps 0 and masked in every comparison
    measured_mask: np.ndarray  # True where the measured IT power exists
    dry_bulb_c: np.ndarray
    rel_humidity_pct: np.ndarray
    heat_demand_mw: np.ndarray
    dh_supply_temp_c: np.ndarray
    installed_it_kw: float
    liquid_fraction: float
    fallbacks: tuple[str, ...]  # inputs taken from the scenario instead of the telemetry

    def subset(self, index: np.ndarray) -> ModelInputs:
        """These inputs at the steps ``index`` only (the model is steady state per step)."""
        pick = {k: (v[index] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        pick["time"] = self.time.iloc[index].reset_index(drop=True)
        return ModelInputs(**pick)


def _site_on_grid(scenario: Scenario, time_utc: pd.Series, step_s: int):
    from dctwin.site import site_series
    from dctwin.timeline import Timeline
    from dctwin.timeparse import standard_offset_s

    offset_s = standard_offset_s(scenario.site.timezone, time_utc.iloc[0].year)
    local = time_utc.dt.tz_convert(None) + dt.timedelta(seconds=offset_s)
    start = local.iloc[0].normalize()
    first = int((local.iloc[0] - start).total_seconds()) // step_s
    timeline = Timeline(start.date(), step_s, first + len(time_utc))
    site = site_series(scenario.site, timeline, scenario.simulation.seed)
    return site.iloc[first:].reset_index(drop=True), timeline


def model_inputs(scenario: Scenario, telemetry: Telemetry) -> ModelInputs:
    """The facility model's inputs on the telemetry's grid."""
    from dctwin.buildout import installed_pools

    frame, step = telemetry.frame, telemetry.step_s
    if 86400 % step:
        raise InputError("step_s must divide a day for replay", field="step_s", value=step)
    site, timeline = _site_on_grid(scenario, frame["time"], step)
    pools = installed_pools(scenario, timeline)
    if not pools:
        raise InputError("no racks are online during the telemetry's span", field="phases")
    installed = float(sum(p.max_it_kw for p in pools))
    liquid = float(sum(p.max_it_kw * p.platform.liquid_cooled_fraction for p in pools) / installed)
    fallbacks, cols = [], {}
    for name, site_col, scale in (("dry_bulb_c", "dry_bulb_c", 1.0), ("rel_humidity_pct", "rel_humidity_pct", 1.0),
                                  ("heat_demand_kw", "heat_demand_mw", 1000.0)):
        measured = frame[name].to_numpy(float) if name in frame else None
        from_site = site[site_col].to_numpy(float) * scale
        if measured is None:
            fallbacks.append(name)
            cols[name] = from_site
        else:  # a missing measured step takes the scenario's value; that count is reported
            gaps = np.isnan(measured)
            if gaps.any():
                fallbacks.append(f"{name} ({int(gaps.sum())} missing steps)")
            cols[name] = np.where(gaps, from_site, measured)
    it = frame["it_power_kw"].to_numpy(float)
    mask = ~np.isnan(it)
    return ModelInputs(frame["time"], step, np.where(mask, it, 0.0), mask, cols["dry_bulb_c"],
                       np.clip(cols["rel_humidity_pct"], 0.0, 100.0), cols["heat_demand_kw"] / 1000.0,
                       site["dh_supply_temp_c"].to_numpy(float), installed, liquid, tuple(fallbacks))


# predicted quantity -> FacilityResult fields that add up to it
_PREDICTED = {
    "grid_power_kw": ("grid_power_kw",),
    "cooling_power_kw": ("cdu_pump_kw", "facility_pump_kw", "dry_cooler_fan_kw", "adiabatic_kw", "chiller_kw",
                         "crah_fan_kw"),
    "cdu_pump_kw": ("cdu_pump_kw",),
    "facility_pump_kw": ("facility_pump_kw",),
    "dry_cooler_fan_kw": ("dry_cooler_fan_kw",),
    "chiller_kw": ("chiller_kw",),
    "ups_loss_kw": ("ups_loss_kw",),
    "heat_pump_kw": ("heat_pump_kw",),
    "heat_delivered_kw": ("heat_delivered_kw",),
    "water_l_per_h": ("water_l_per_h",),
}
assert set(_PREDICTED) == {q for q, v in QUANTITIES.items() if v.role == "output"}


def predict(scenario: Scenario, inputs: ModelInputs) -> pd.DataFrame:
    """The facility model's outputs for ``inputs``, row for row: one column per output quantity, plus the IT
    power it ran (less than measured where the model's cooling could not hold it)."""
    from dctwin.facility import simulate_facility
    from dctwin.site.psychro import site_pressure

    fac = simulate_facility(scenario.facility, inputs.it_power_kw, inputs.liquid_fraction, inputs.dry_bulb_c, None,
                            inputs.rel_humidity_pct, inputs.heat_demand_mw, inputs.dh_supply_temp_c,
                            inputs.installed_it_kw, inputs.step_s, air_pressure_pa=site_pressure(scenario.site)[0])
    out = {"model_it_power_kw": np.asarray(fac.it_power_kw, dtype=float)}
    for name, parts in _PREDICTED.items():
        out[name] = np.sum([np.asarray(getattr(fac, p), dtype=float) for p in parts], axis=0)
    return pd.DataFrame(out)


def replay_table(telemetry: Telemetry, inputs: ModelInputs, predicted: pd.DataFrame) -> pd.DataFrame:
    """Measured, predicted and residual (measured minus predicted) side by side for every measured output."""
    out = {"time": telemetry.frame["time"], "it_power_kw": np.where(inputs.measured_mask, inputs.it_power_kw, np.nan),
           "dry_bulb_c": inputs.dry_bulb_c, "rel_humidity_pct": inputs.rel_humidity_pct,
           "model_it_power_kw": predicted["model_it_power_kw"]}
    for name in _PREDICTED:
        pred = predicted[name].to_numpy(float)
        out[f"predicted_{name}"] = np.where(inputs.measured_mask, pred, np.nan)
        if name in telemetry.frame:
            meas = telemetry.frame[name].to_numpy(float)
            out[f"measured_{name}"] = meas
            out[f"residual_{name}"] = meas - out[f"predicted_{name}"]
    return pd.DataFrame(out)


def measured_outputs(telemetry: Telemetry) -> list[str]:
    return [q for q in _PREDICTED if q in telemetry.frame]
