"""Direct-to-chip liquid loop: CDU and facility pumps, dry coolers, adiabatic assist, towers, chillers.

Models (parameters and sources in ``data/cooling.yaml``):

- Pumps: flow follows heat at a fixed loop rise ``Q = m * cp * dT``; head
  scales with flow squared and power with flow cubed (affinity laws) above a
  minimum flow.
- Dry coolers: at full fan speed the duty is proportional to the entering
  temperature difference, water return minus air inlet (effectiveness-NTU,
  Incropera), sized to reject the design heat at the design ambient. Below
  that, fans slow down; air flow and duty scale with fan speed and fan power
  with its cube.
- Adiabatic assist: pads cool the inlet air toward the wet-bulb with a
  saturation efficiency, only when the dry duty falls short.
- Open cooling tower: the same duty law against the wet-bulb.
- Chillers: COP = Carnot fraction x T_evap / (T_cond - T_evap), with fixed
  evaporator and condenser approaches, fitted to the dossier's air-cooled COP.
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.params import load_params

__all__ = [
    "adiabatic_inlet_c",
    "chiller_cop",
    "cooling_params",
    "fan_power_kw",
    "pump_power_kw",
    "rejection_capacity_kw",
    "wet_bulb_stull_c",
]

KELVIN = 273.15


def cooling_params() -> dict[str, float]:
    """The cooling parameters of ``data/cooling.yaml`` (values only)."""
    return load_params("cooling")["values"]


def pump_power_kw(heat_kw, design_heat_kw: float, delta_t_k: float, head_kpa: float,
                  min_flow_frac: float | None = None) -> np.ndarray:
    """Electric power of a variable-speed pump carrying ``heat_kw`` [kW] at a loop rise ``delta_t_k`` [K] [kW].

    Design flow [m³/s] = design_heat / (rho * cp * dT); design hydraulic power =
    flow * head; power scales with the cube of the flow fraction (affinity
    laws), never below ``min_flow_frac`` (default ``pump_min_flow_frac``),
    divided by the wire-to-water efficiency.
    """
    p = cooling_params()
    flow_design_m3_s = design_heat_kw / (p["coolant_density_kg_per_m3"] * p["coolant_cp_kj_per_kg_k"] * delta_t_k)
    power_design_kw = flow_design_m3_s * head_kpa / p["pump_efficiency"]
    floor = p["pump_min_flow_frac"] if min_flow_frac is None else min_flow_frac
    frac = np.maximum(np.asarray(heat_kw, dtype=float) / design_heat_kw, floor)
    return power_design_kw * frac * frac * frac


def rejection_capacity_kw(design_heat_kw: float, inlet_c, return_c: float, design_inlet_c: float) -> np.ndarray:
    """Duty at full fan speed of a heat rejecter sized for ``design_heat_kw`` at ``design_inlet_c`` [kW].

    Proportional to the entering temperature difference ``return_c - inlet_c``
    [K] (air dry-bulb or wet-bulb for towers); zero when the air is at or above
    the water return.
    """
    etd_design = return_c - design_inlet_c
    etd = np.maximum(return_c - np.asarray(inlet_c, dtype=float), 0.0)
    return design_heat_kw * etd / etd_design


def adiabatic_inlet_c(dry_bulb_c, wet_bulb_c) -> np.ndarray:
    """Air temperature after the wetted pads: dry-bulb minus saturation efficiency x wet-bulb depression [°C]."""
    eff = cooling_params()["adiabatic_saturation_eff"]
    db = np.asarray(dry_bulb_c, dtype=float)
    return db - eff * (db - np.minimum(np.asarray(wet_bulb_c, dtype=float), db))


def fan_power_kw(duty_kw, capacity_kw, design_fan_kw: float) -> np.ndarray:
    """Fan power at the speed that gives ``duty_kw`` out of a full-speed ``capacity_kw`` [kW]: cube law."""
    duty = np.asarray(duty_kw, dtype=float)
    cap = np.asarray(capacity_kw, dtype=float)
    shape = np.broadcast(duty, cap).shape
    # heat to move with no capacity left (air at or above the water return): the fans run flat out
    speed = np.divide(duty, cap, out=np.broadcast_to(np.where(duty > 0, 1.0, 0.0), shape).copy(), where=cap > 0)
    speed = np.minimum(speed, 1.0)
    return design_fan_kw * speed * speed * speed


def chiller_cop(chilled_water_c, ambient_c, carnot_fraction: float | None = None) -> np.ndarray:
    """COP of an air-cooled chiller from its lift [-].

    ``T_evap = chilled_water_c - evap_approach``, ``T_cond = ambient_c +
    cond_approach``; COP = Carnot fraction x T_evap[K] / (T_cond - T_evap),
    capped at ``chiller_cop_max`` for small lifts.
    """
    p = cooling_params()
    eta = p["chiller_carnot_fraction"] if carnot_fraction is None else carnot_fraction
    t_evap = np.asarray(chilled_water_c, dtype=float) - p["chiller_evap_approach_k"] + KELVIN
    t_cond = np.asarray(ambient_c, dtype=float) + p["chiller_cond_approach_k"] + KELVIN
    lift = np.maximum(t_cond - t_evap, 1e-6)
    return np.minimum(eta * t_evap / lift, p["chiller_cop_max"])


def wet_bulb_stull_c(dry_bulb_c, rel_humidity_pct) -> np.ndarray:
    """Wet-bulb temperature from dry-bulb [°C] and relative humidity [%] (Stull 2011) [°C].

    Valid for RH 5-99 % and -20..50 °C at sea-level pressure; error within ~1 K.
    """
    t = np.asarray(dry_bulb_c, dtype=float)
    rh = np.clip(np.asarray(rel_humidity_pct, dtype=float), 1.0, 100.0)
    return (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
