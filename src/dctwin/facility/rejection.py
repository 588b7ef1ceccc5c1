"""Running the liquid loop's heat rejection for one array of steps: rejecter fans, adiabatic pads, trim chillers.

Heat left in the facility water after heat reuse goes to the rejecters up to
their capacity at this step's weather; the chillers take what is over (up to
their capacity), or all of it where running them alone draws less than fans
plus trim. Pads are wetted when dry cooling cannot hold the heat or when
wetting draws less. Parameters and sources: ``data/cooling.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.facility import chillers, liquid, water
from dctwin.facility.params import FacilityParams

__all__ = ["RejectionState", "run_rejection"]


@dataclass(frozen=True)
class RejectionState:
    """Per-step operation of the heat rejection [kW], water [L/h] and the pad flag."""

    chiller_heat_kw: np.ndarray
    chiller_kw: np.ndarray
    rejecter_heat_kw: np.ndarray
    fan_kw: np.ndarray
    adiabatic_kw: np.ndarray
    water_l_per_h: np.ndarray
    pads_on: np.ndarray


def _pads(rejection: str, rejecter_heat, cap_rej, cap_dry, design_heat: float, design_fan_kw: float, db, wb,
          params: FacilityParams | None):
    """(pads wetted, capacity in use) per step [bool, kW]."""
    n = len(rejecter_heat)
    if rejection != "adiabatic_dry_cooler":
        return np.zeros(n, dtype=bool), cap_rej
    p = liquid.cooling_params(params)
    # wet the pads when dry cooling cannot hold the heat, or when fans + spray pumps then draw less
    need = rejecter_heat > cap_dry * (1.0 + 1e-9)
    speed_wet = np.minimum(np.divide(rejecter_heat, cap_rej, out=np.zeros(n), where=cap_rej > 0), 1.0)
    air_wet = design_heat / (p["air_cp_kj_per_kg_k"] * p["dry_cooler_air_rise_k"]) * speed_wet
    pad_c0 = liquid.adiabatic_inlet_c(db, wb, params=params)
    spray_kg_s = water.adiabatic_water_l_per_h(air_wet, db, pad_c0, params=params) / 3600.0
    wet_kw = liquid.fan_power_kw(rejecter_heat, cap_rej, design_fan_kw) + spray_kg_s * p["adiabatic_pump_kw_per_kg_s"]
    pads = need | ((rejecter_heat > 0) & (wet_kw < liquid.fan_power_kw(rejecter_heat, cap_dry, design_fan_kw)))
    return pads, np.where(pads, cap_rej, cap_dry)


def _water(rejection: str, rejecter_heat, cap_now, pads, design_heat: float, db, wb, params: FacilityParams | None):
    """(water use [L/h], spray pump power [kW]) per step."""
    n = len(rejecter_heat)
    if rejection == "cooling_tower":
        return water.tower_water_l_per_h(rejecter_heat, params=params), np.zeros(n)
    if rejection == "adiabatic_dry_cooler":
        p = liquid.cooling_params(params)
        speed = np.minimum(np.divide(rejecter_heat, cap_now, out=np.zeros(n), where=cap_now > 0), 1.0)
        air_kg_s = design_heat / (p["air_cp_kj_per_kg_k"] * p["dry_cooler_air_rise_k"]) * speed
        pad_c = liquid.adiabatic_inlet_c(db, wb, params=params)
        water_l_h = np.where(pads, water.adiabatic_water_l_per_h(air_kg_s, db, pad_c, params=params), 0.0)
        return water_l_h, water_l_h / 3600.0 * p["adiabatic_pump_kw_per_kg_s"]
    return np.zeros(n), np.zeros(n)


def run_rejection(rejection: str, rest_heat_kw, cap_rej, cap_dry, design_heat_kw: float, design_fan_kw: float,
                  chiller_cap_kw: float, supply_c: float, db, wb,
                  *, params: FacilityParams | None = None) -> RejectionState:
    """Operate rejecters and chillers for ``rest_heat_kw`` [kW] left after heat reuse.

    ``cap_rej`` / ``cap_dry`` [kW] full-speed capacity with every aid / dry only;
    ``design_fan_kw`` [kW] fan power at full speed; ``chiller_cap_kw`` [kW] heat
    the chillers may take; ``supply_c`` [°C] facility-water supply; ``db``,
    ``wb`` [°C] dry- and wet-bulb.
    """
    rest = rest_heat_kw
    ch_heat = np.clip(rest - cap_rej, 0.0, chiller_cap_kw)
    liquid_ch_kw = ch_heat / chillers.chiller_cop(supply_c, db, params=params)
    rejecter_heat = np.maximum(rest - ch_heat, 0.0)  # never below zero by rounding
    pads, cap_now = _pads(rejection, rejecter_heat, cap_rej, cap_dry, design_heat_kw, design_fan_kw, db, wb, params)
    fan_kw = liquid.fan_power_kw(rejecter_heat, cap_now, design_fan_kw)
    if chiller_cap_kw > 0:
        # where the chillers can carry all the heat and that draws less than rejecter fans plus trim
        # chiller (near the water temperature the fans barely help), the plant runs the chillers alone
        rest_kw = np.maximum(rest, 0.0)  # never below zero by rounding
        chill_only_kw = rest_kw / chillers.chiller_cop(supply_c, db, params=params)
        alone = (rest_kw > 0) & (rest_kw <= chiller_cap_kw) & (chill_only_kw < fan_kw + liquid_ch_kw)
        if alone.any():
            ch_heat = np.where(alone, rest_kw, ch_heat)
            liquid_ch_kw = np.where(alone, chill_only_kw, liquid_ch_kw)
            rejecter_heat = np.where(alone, 0.0, rejecter_heat)
            fan_kw = np.where(alone, 0.0, fan_kw)
            pads = pads & ~alone
    water_l_h, adiabatic_kw = _water(rejection, rejecter_heat, cap_now, pads, design_heat_kw, db, wb, params)
    return RejectionState(ch_heat, liquid_ch_kw, rejecter_heat, fan_kw, adiabatic_kw, water_l_h, pads)
