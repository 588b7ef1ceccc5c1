"""The air-cooled share of heat, with moist air: fans, economisers, coils, humidity control, CRAH or CRAC.

Room heat (the air-cooled part of the racks plus UPS and busway losses) is
carried by supply air at ``air_supply_temp_c`` with a fixed rise across the
racks. Air flow follows heat; fan power = flow x pressure / efficiency at
design, with the cube of the flow fraction below it (affinity laws, system
curve Δp ~ flow²). The fans move volume: the air's density at the site's
pressure ``pressure_pa`` is ``air_density_kg_per_m3`` (sea level) x pressure /
101,325 Pa (psychrolib's moist-air density is proportional to pressure at a
given temperature and humidity ratio), so the same heat needs more fan power
at altitude (1,600 m: 0.82x the density, 1.21x the fan power).
Humidity (psychrolib, ``moist_air``, at the site's pressure) sets latent loads:
room air is held between the ASHRAE envelope's dew-point/RH limits, outdoor
air above it is dried on the coil (colder chilled water), air below it is
humidified by steam.

Economisers (``air_economiser``): ``indirect_air`` (air-to-air exchanger,
no outdoor air inside), ``direct_air`` (outdoor air mixed to the supply
temperature; used in a step only when that needs less compressor power than
closed recirculation), ``water_side`` (dry cooler pre-cools chilled water),
``none``. Mechanical cooling (``air_cooling``): ``crah_chiller`` (chilled
water from air-cooled chillers), ``crac_dx`` (DX compressors) or
``economiser_only``; its capacity follows the outdoor air (EnergyPlus curves,
``chillers``), and heat above it is reported as a shortfall.
Parameters and sources: ``data/air.yaml``, ``data/cooling.yaml``.
"""

from __future__ import annotations

import numpy as np

from dctwin.facility import chillers, moist_air
from dctwin.facility.params import FacilityParams, packaged_params

__all__ = ["air_density_kg_per_m3", "air_design_flow_kw", "air_side", "economiser_fraction", "fan_kw",
           "humidity_limits"]


def _p(params: FacilityParams | None) -> dict:
    params = params or packaged_params()
    return {**params.cooling["values"], **params.air["values"]}


def economiser_fraction(dry_bulb_c, supply_c: float, rise_k: float | None = None, *,
                        params: FacilityParams | None = None) -> np.ndarray:
    """Share of the heat an indirect economiser (or water-side economiser) carries at ``dry_bulb_c`` [°C] [0-1].

    All of it while the outdoor air is an approach below ``supply_c`` [°C], none
    once it reaches ``supply_c + rise_k`` less the approach, linear between.
    """
    p = _p(params)
    rise = p["crah_air_delta_t_k"] if rise_k is None else rise_k
    full_below = supply_c - p["economiser_approach_k"]
    none_above = supply_c + rise - p["economiser_approach_k"]
    return np.clip((none_above - np.asarray(dry_bulb_c, dtype=float)) / (none_above - full_below), 0.0, 1.0)


def air_density_kg_per_m3(pressure_pa: float, *, params: FacilityParams | None = None) -> float:
    """Density [kg/m³] of the air the fans move at ``pressure_pa`` [Pa]: the sea-level figure scaled by pressure."""
    return _p(params)["air_density_kg_per_m3"] * pressure_pa / moist_air.PRESSURE_PA


def air_design_flow_kw(design_room_heat_kw: float, *, pressure_pa: float,
                       params: FacilityParams | None = None) -> tuple[float, float]:
    """(design air flow [m³/s], design fan power [kW]) to carry ``design_room_heat_kw`` [kW] plus the fans' heat
    in air at ``pressure_pa`` [Pa]."""
    p = _p(params)
    rho = air_density_kg_per_m3(pressure_pa, params=params)
    per_kw = 1.0 / (rho * p["air_cp_kj_per_kg_k"] * p["crah_air_delta_t_k"])  # m³/s per kW
    sfp = p["fan_total_pressure_pa"] / p["fan_efficiency"] / 1000.0  # kW per m³/s at design
    flow = design_room_heat_kw * per_kw / (1.0 - sfp * per_kw)
    return flow, flow * sfp


def fan_kw(room_heat_kw, design_room_heat_kw: float, *, pressure_pa: float,
           params: FacilityParams | None = None) -> np.ndarray:
    """Fan power moving ``room_heat_kw`` [kW] plus the fans' own heat, cube law below design flow [kW].

    Fans never run past full speed: heat above the design flow leaves with a larger air rise.
    """
    room = np.asarray(room_heat_kw, dtype=float)
    if design_room_heat_kw <= 0:
        return np.zeros(room.shape)
    _, design_kw = air_design_flow_kw(design_room_heat_kw, pressure_pa=pressure_pa, params=params)
    floor = _p(params)["fan_min_speed_frac"]
    full = design_room_heat_kw + design_kw  # heat at full speed, fans included
    # fan = F ((room + fan) / full)³: two Newton steps from the no-self-heating guess (error < 1e-9 of the fan power)
    room_c = np.minimum(room, design_room_heat_kw)  # at or above design heat the fans run flat out
    fan = design_kw * (room_c / full) ** 3
    for _ in range(2):
        x = (room_c + fan) / full
        fan = fan - (fan - design_kw * x * x * x) / (1.0 - 3.0 * design_kw / full * x * x)
    frac = np.clip((room_c + fan) / full, floor, 1.0)
    return design_kw * frac * frac * frac


def humidity_limits(envelope: str, supply_c: float, *, pressure_pa: float,
                    params: FacilityParams | None = None) -> tuple[float, float]:
    """(lowest, highest) humidity ratio [kg/kg] of supply air at ``supply_c`` [°C] and ``pressure_pa`` [Pa] in the
    ASHRAE ``envelope``."""
    _, _, dp_min, dp_max, rh_min, rh_max = (params or packaged_params()).air["envelopes"][envelope]
    at = {"pressure_pa": pressure_pa}
    w_min = max(float(moist_air.hum_ratio_from_dew_point(dp_min, **at)),
                float(moist_air.hum_ratio(supply_c, rh_min, **at)))
    w_max = min(float(moist_air.hum_ratio_from_dew_point(dp_max, **at)),
                float(moist_air.hum_ratio(supply_c, rh_max, **at)))
    return w_min, w_max


def _coil_kw(mass_kg_s, t_in, w_in, supply_c: float, w_max: float) -> np.ndarray:
    """Coil load cooling (and drying to ``w_max``) ``mass_kg_s`` of air at (t_in, w_in) to ``supply_c`` [kW]."""
    w_out = np.minimum(w_in, w_max)
    dh = moist_air.enthalpy_kj_per_kg(t_in, w_in) - moist_air.enthalpy_kj_per_kg(supply_c, w_out)
    return np.maximum(mass_kg_s * dh, 0.0)


def closed_coil_kw(m, db, w_out, supply_c: float, w_lim: tuple[float, float], *, params: FacilityParams | None = None):
    """(coil load [kW], humidifier steam [kg/s]) of closed recirculation with a make-up air share."""
    p = _p(params)
    f = p["makeup_air_frac"]
    w_room = np.clip(w_out, *w_lim)
    t_mix = (1.0 - f) * (supply_c + p["crah_air_delta_t_k"]) + f * db
    w_mix = (1.0 - f) * w_room + f * w_out
    return _coil_kw(m, t_mix, w_mix, supply_c, w_lim[1]), m * np.maximum(w_room - w_mix, 0.0)


def _direct_coil_kw(m, db, w_out, supply_c: float, w_lim: tuple[float, float], params: FacilityParams):
    """(coil load [kW], humidifier steam [kg/s], outdoor share [0-1]) of a direct air economiser.

    Outdoor air is mixed with return air down to the supply temperature (all
    outdoor air once it is warmer than the supply); room humidity follows the
    outdoor air within the envelope.
    """
    ret = supply_c + _p(params)["crah_air_delta_t_k"]
    usable = db < ret
    share = np.where(usable, np.clip((ret - supply_c) / np.maximum(ret - db, 1e-9), 0.0, 1.0), 0.0)
    w_room = np.clip(w_out, *w_lim)
    w_mix = share * w_out + (1.0 - share) * w_room
    t_mix = np.where(db <= supply_c, supply_c, np.where(usable, db, ret))  # exact: mixing hits the supply air
    coil = _coil_kw(m, t_mix, w_mix, supply_c, w_lim[1])
    return coil, m * np.maximum(w_room - w_mix, 0.0), share


def _compressor_kw(coil_kw, db, cooling: str, chw_c, capacity_kw: float, params: FacilityParams):
    """(compressor power [kW], heat it cannot carry [kW]) for ``coil_kw`` of coil load."""
    if cooling == "economiser_only" or capacity_kw <= 0:
        return np.zeros(np.shape(coil_kw)), np.asarray(coil_kw, dtype=float)
    if cooling == "crac_dx":
        cap = capacity_kw * chillers.dx_capacity_factor(db, params=params)
        served = np.minimum(coil_kw, cap)
        return served / chillers.dx_cop(db, served / cap, params=params), coil_kw - served
    cap = capacity_kw * chillers.chiller_capacity_factor(chw_c, db, params=params)
    served = np.minimum(coil_kw, cap)
    return chillers.chiller_power_kw(served, cap, chw_c, db, rated_kw=capacity_kw, params=params), coil_kw - served


def air_side(room_heat_kw, dry_bulb_c, hum_ratio_out, *, supply_c: float, envelope: str, economiser: str,
             cooling: str, design_room_heat_kw: float, capacity_kw: float, pressure_pa: float,
             params: FacilityParams | None = None) -> dict[str, np.ndarray]:
    """Per-step air-side power for ``room_heat_kw`` [kW] at outdoor ``dry_bulb_c`` [°C] and ``hum_ratio_out`` [kg/kg].

    ``capacity_kw`` [kW] is the mechanical cooling at its rating point (chiller:
    6.67 °C water, 35 °C air; DX: 35 °C air). Returns fan, compressor and
    humidifier power [kW] at the site's air pressure ``pressure_pa`` [Pa], the heat into the air and the heat mechanical
    cooling could not carry [kW], and the economiser share [0-1].
    """
    p = _p(params)
    room = np.asarray(room_heat_kw, dtype=float)
    db = np.asarray(dry_bulb_c, dtype=float)
    w_out = np.asarray(hum_ratio_out, dtype=float)
    params = params or packaged_params()
    fans = fan_kw(room, design_room_heat_kw, pressure_pa=pressure_pa, params=params)
    air_heat = room + fans
    m = air_heat / (p["air_cp_kj_per_kg_k"] * p["crah_air_delta_t_k"])  # kg/s of dry air
    w_lim = humidity_limits(envelope, supply_c, pressure_pa=pressure_pa, params=params)
    coil, steam = closed_coil_kw(m, db, w_out, supply_c, w_lim, params=params)
    econ = np.zeros(room.shape)
    if economiser in ("indirect_air", "water_side"):
        medium_c = supply_c - p["chilled_water_offset_k"] if economiser == "water_side" else supply_c
        econ = economiser_fraction(db, medium_c, params=params)
        coil = coil * (1.0 - econ)
    # chilled water cold enough to dry the air where the coil must remove moisture
    drying_c = float(moist_air.dew_point_c(w_lim[1], pressure_pa=pressure_pa)) - p["coil_dew_point_approach_k"]
    chw_closed = np.where(w_out > w_lim[1], min(supply_c - p["chilled_water_offset_k"], drying_c),
                          supply_c - p["chilled_water_offset_k"])
    comp, short = _compressor_kw(coil, db, cooling, chw_closed, capacity_kw, params)
    if economiser == "direct_air":
        d_coil, d_steam, share = _direct_coil_kw(m, db, w_out, supply_c, w_lim, params)
        d_comp, d_short = _compressor_kw(d_coil, db, cooling, chw_closed, capacity_kw, params)
        use = d_comp + 1e3 * d_short <= comp + 1e3 * short  # a kW of heat not carried weighs more than any power
        comp, short = np.where(use, d_comp, comp), np.where(use, d_short, short)
        steam = np.where(use, d_steam, steam)
        econ = np.where(use, share, 0.0)
    return {"crah_fan_kw": fans, "air_chiller_kw": comp, "humidifier_kw": steam * p["humidifier_kj_per_kg"],
            "air_heat_kw": air_heat, "air_cooling_shortfall_kw": short, "economiser_fraction": econ}
