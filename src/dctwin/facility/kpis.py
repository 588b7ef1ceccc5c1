"""Facility KPIs per ISO/IEC 30134 (EN 50600-4-x), all on one boundary; by year, month or hour.

The boundary: the datacentre's total energy ``E_DC`` is the grid energy less
the heat pumps' electricity. The heat pumps lift reused heat for the
district-heating network; ISO/IEC 30134-6 (EN 50600-4-6) counts reused energy
where it leaves the datacentre, so equipment that upgrades it for the user is
outside, for PUE and ERF alike.

- PUE (30134-2) = E_DC / IT energy.
- Partial PUE (30134-2): ``ppue_cooling`` = (IT + cooling) / IT,
  ``ppue_power`` = (IT + power-chain losses) / IT.
- WUE (30134-9) = site water [L] / IT energy [kWh].
- ERF (30134-6) = heat leaving the datacentre for reuse (taken from its
  facility water, before any heat-pump lift) / E_DC.
- REF (30134-3) = renewable energy / E_DC.
- CUE (30134-8) = CO2 of E_DC / IT energy [kg/kWh]; ``co2_t`` is the whole site's CO2.
- ``grid_energy_per_it_energy``: grid energy, heat pumps included, / IT
  energy: the site's meter, not a PUE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.facility.result import FacilityResult

__all__ = ["facility_kpis", "monthly_kpis", "period_kpis"]


def _frame(result: FacilityResult, step_s: int, renewable_share, carbon_g_per_kwh, timestamps) -> pd.DataFrame:
    n = len(result)
    if step_s <= 0:
        raise InputError("must be > 0", field="step_s", value=step_s)
    step_h = step_s / 3600.0

    def series(name, value):
        arr = np.asarray(value, dtype=float)
        arr = np.full(n, float(arr)) if arr.ndim == 0 else arr
        if arr.shape != (n,):
            raise InputError("length differs from the facility result", field=name, value=arr.shape,
                             allowed=f"({n},) or scalar")
        return arr

    share = series("renewable_share", renewable_share)
    if n and (share.min() < 0 or share.max() > 1):
        raise InputError("must lie in [0, 1]", field="renewable_share", value=float(share.min()))
    carbon = series("carbon_g_per_kwh", carbon_g_per_kwh)
    grid = result.grid_power_kw * step_h
    frame = pd.DataFrame(
        {
            "it_kwh": result.it_power_kw * step_h,
            "grid_kwh": grid,
            "heat_pump_kwh": result.heat_pump_kw * step_h,
            "cooling_kwh": result.cooling_power_kw * step_h,
            "losses_kwh": result.power_losses_kw * step_h,
            "water_l": result.water_l_per_h * step_h,
            "heat_delivered_kwh": result.heat_delivered_kw * step_h,
            "heat_recovered_kwh": result.heat_recovered_kw * step_h,
            "humidifier_kwh": result.humidifier_kw * step_h,
            "heat_rejected_kwh": result.heat_rejected_kw * step_h,
            "renewable_kwh": (grid - result.heat_pump_kw * step_h) * share,
            "co2_kg": grid * carbon / 1000.0,
            "co2_dc_kg": (grid - result.heat_pump_kw * step_h) * carbon / 1000.0,
            "throttled_it_kwh": result.throttled_it_kw * step_h,
            "chiller_h": result.chiller_on * step_h,
            "economiser_h": (result.economiser_fraction >= 1.0) * step_h,
            "shortfall_h": (result.cooling_shortfall_kw > 0) * step_h,
            "over_capacity_h": (result.heat_over_capacity_kw > 0) * step_h,
            "adiabatic_h": result.adiabatic_on * step_h,
        },
        index=None if timestamps is None else pd.DatetimeIndex(timestamps),
    )
    if timestamps is not None and len(frame.index) != n:
        raise InputError("length differs from the facility result", field="timestamps", value=len(frame.index))
    return frame


def _ratios(sums: pd.DataFrame | pd.Series) -> dict:
    it = sums["it_kwh"]
    grid = sums["grid_kwh"]
    dc = grid - sums["heat_pump_kwh"]  # E_DC: the datacentre boundary (module docstring)
    it_safe = it.where(it > 0) if isinstance(it, pd.Series) else (it if it > 0 else np.nan)
    dc_safe = dc.where(dc > 0) if isinstance(dc, pd.Series) else (dc if dc > 0 else np.nan)
    return {
        "pue": dc / it_safe,
        "grid_energy_per_it_energy": grid / it_safe,
        "ppue_cooling": (it + sums["cooling_kwh"]) / it_safe,
        "ppue_power": (it + sums["losses_kwh"]) / it_safe,
        "wue_l_per_kwh": sums["water_l"] / it_safe,
        "erf": sums["heat_recovered_kwh"] / dc_safe,
        "ref": sums["renewable_kwh"] / dc_safe,
        "cue_kg_per_kwh": sums["co2_dc_kg"] / it_safe,
        "it_energy_mwh": it / 1000.0,
        "grid_energy_mwh": grid / 1000.0,
        "dc_energy_mwh": dc / 1000.0,
        "humidifier_energy_mwh": sums["humidifier_kwh"] / 1000.0,
        "cooling_energy_mwh": sums["cooling_kwh"] / 1000.0,
        "power_loss_energy_mwh": sums["losses_kwh"] / 1000.0,
        "heat_pump_energy_mwh": sums["heat_pump_kwh"] / 1000.0,
        "heat_delivered_mwh": sums["heat_delivered_kwh"] / 1000.0,
        "heat_rejected_mwh": sums["heat_rejected_kwh"] / 1000.0,
        "water_m3": sums["water_l"] / 1000.0,
        "co2_t": sums["co2_kg"] / 1000.0,
        "throttled_it_mwh": sums["throttled_it_kwh"] / 1000.0,
        "chiller_hours": sums["chiller_h"],
        "economiser_hours": sums["economiser_h"],
        "adiabatic_hours": sums["adiabatic_h"],
        "cooling_shortfall_hours": sums["shortfall_h"],
        "over_capacity_hours": sums["over_capacity_h"],
    }


def facility_kpis(result: FacilityResult, step_s: int, renewable_share, carbon_g_per_kwh, timestamps=None) -> dict:
    """Headline KPIs over the whole run, flat, units in the keys.

    ``renewable_share`` [0-1] and ``carbon_g_per_kwh`` [g/kWh] are scalars or
    per-step arrays; ``timestamps`` are accepted for symmetry (not needed).
    Adds ``peak_grid_power_mw`` and ``max_cooling_shortfall_mw``.
    """
    frame = _frame(result, step_s, renewable_share, carbon_g_per_kwh, timestamps)
    out = {k: float(v) for k, v in _ratios(frame.sum()).items()}
    out["peak_grid_power_mw"] = float(result.grid_power_kw.max(initial=0.0)) / 1000.0
    out["max_cooling_shortfall_mw"] = float(result.cooling_shortfall_kw.max(initial=0.0)) / 1000.0
    return out


def period_kpis(result: FacilityResult, step_s: int, renewable_share, carbon_g_per_kwh, timestamps,
                freq: str = "MS") -> pd.DataFrame:
    """The same KPIs per period of ``freq`` ('MS' month, 'h' hour, 'D' day, 'YS' year), one row each."""
    if timestamps is None:
        raise InputError("timestamps are needed to group by period", field="timestamps")
    frame = _frame(result, step_s, renewable_share, carbon_g_per_kwh, timestamps)
    sums = frame.resample(freq).sum()
    return pd.DataFrame(_ratios(sums), index=sums.index)


def monthly_kpis(result: FacilityResult, step_s: int, renewable_share, carbon_g_per_kwh, timestamps) -> pd.DataFrame:
    """KPIs by calendar month (index: month start)."""
    return period_kpis(result, step_s, renewable_share, carbon_g_per_kwh, timestamps, freq="MS")
