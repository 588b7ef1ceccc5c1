"""The air-cooled share of heat: CRAH / fan walls with an indirect air-side economiser.

Heat into the room air (the air-cooled part of the racks plus UPS and
busway losses) is moved by fans at a specific fan power per air flow
(EN 16798-3 class), air flow from the air temperature rise. The economiser
carries all of it while the outdoor air is at least an approach below the
supply air, none of it once the outdoor air reaches the return air less the
approach, and a linear share in between; a chiller carries the rest.
Parameters and sources: ``data/cooling.yaml``.
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.liquid import chiller_cop, cooling_params

__all__ = ["air_chiller_kw", "crah_fan_kw", "economiser_fraction"]


def crah_fan_kw(room_heat_kw) -> np.ndarray:
    """Fan power to move ``room_heat_kw`` [kW] of heat, including the fans' own heat [kW].

    Air flow [m³/s] = heat / (rho * cp * dT); fan power = SFP x flow. Since the
    fan heat is in the air too, fan = SFP/(rho cp dT) x (heat + fan), solved exactly.
    """
    p = cooling_params()
    k = p["crah_sfp_kw_per_m3_s"] / (p["air_density_kg_per_m3"] * p["air_cp_kj_per_kg_k"] * p["crah_air_delta_t_k"])
    return np.asarray(room_heat_kw, dtype=float) * k / (1.0 - k)


def economiser_fraction(dry_bulb_c, supply_air_c: float) -> np.ndarray:
    """Share of the room heat the indirect air economiser carries at ``dry_bulb_c`` [°C] [0-1]."""
    p = cooling_params()
    approach = p["air_economiser_approach_k"]
    full_below = supply_air_c - approach
    none_above = supply_air_c + p["crah_air_delta_t_k"] - approach
    frac = (none_above - np.asarray(dry_bulb_c, dtype=float)) / (none_above - full_below)
    return np.clip(frac, 0.0, 1.0)


def air_chiller_kw(mech_heat_kw, dry_bulb_c, supply_air_c: float) -> np.ndarray:
    """Compressor power for ``mech_heat_kw`` [kW] of room heat the economiser cannot carry [kW]."""
    p = cooling_params()
    cop = chiller_cop(supply_air_c - p["air_chilled_water_offset_k"], dry_bulb_c)
    return np.asarray(mech_heat_kw, dtype=float) / cop
