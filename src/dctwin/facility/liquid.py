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
- Trim chillers: EnergyPlus air-cooled chiller curves (``chillers``).
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.params import FacilityParams, packaged_params

__all__ = [
    "adiabatic_inlet_c",
    "cooling_params",
    "fan_power_kw",
    "pump_power_kw",
    "rejection_capacity_kw",
]


def cooling_params(params: FacilityParams | None = None):
    """The cooling parameters of ``data/cooling.yaml`` (values only) from ``params`` (default: packaged)."""
    return (params or packaged_params()).cooling["values"]


def pump_power_kw(heat_kw, design_heat_kw: float, delta_t_k: float, head_kpa: float,
                  min_flow_frac: float | None = None, *, params: FacilityParams | None = None) -> np.ndarray:
    """Electric power of a variable-speed pump carrying ``heat_kw`` [kW] at a loop rise ``delta_t_k`` [K] [kW].

    Design flow [m³/s] = design_heat / (rho * cp * dT); design hydraulic power =
    flow * head; power scales with the cube of the flow fraction (affinity
    laws), never below ``min_flow_frac`` (default ``pump_min_flow_frac``),
    divided by the wire-to-water efficiency.
    """
    p = cooling_params(params)
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


def adiabatic_inlet_c(dry_bulb_c, wet_bulb_c, *, params: FacilityParams | None = None) -> np.ndarray:
    """Air temperature after the wetted pads: dry-bulb minus saturation efficiency x wet-bulb depression [°C]."""
    eff = cooling_params(params)["adiabatic_saturation_eff"]
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
