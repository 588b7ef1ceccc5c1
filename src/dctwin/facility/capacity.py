"""Liquid-loop heat rejection capacity: what the plant can reject per step, and the IT power that fits in it.

Heat rejecters (dry coolers, adiabatic dry coolers, open towers) are sized
for the installed IT heat plus the pump heat at full flow, at the design
ambient; chillers add their capacity where the overload rule allows them.
Parameters and sources: ``data/cooling.yaml``.
"""

from __future__ import annotations

import numpy as np

from dctwin.config.facility import FacilityConfig
from dctwin.errors import InputError
from dctwin.facility import liquid
from dctwin.facility.params import FacilityParams, design_params

__all__ = ["cooling_capacity_kw", "liquid_design_fraction", "loop_design_kw", "max_it_kw", "pumps_kw",
           "rejecter_capacity_kw", "rejection_design_heat_kw"]


def loop_design_kw(design: FacilityConfig, installed_heat_kw: float,
                   *, params: FacilityParams | None = None) -> tuple[float, float]:
    """(heat through the facility pumps, heat the rejecters are sized for) at full installed load [kW]."""
    if installed_heat_kw <= 0:  # nothing liquid-cooled: no loop
        return 0.0, 0.0
    p = liquid.cooling_params(params)
    dt = design.cooling.liquid_delta_t_k
    cdu = float(liquid.pump_power_kw(installed_heat_kw, installed_heat_kw, dt, p["cdu_loop_head_kpa"], params=params))
    facility_flow_heat = installed_heat_kw + cdu
    fpump = float(liquid.pump_power_kw(facility_flow_heat, facility_flow_heat, dt, p["facility_loop_head_kpa"],
                                      params=params))
    return facility_flow_heat, facility_flow_heat + fpump


def rejection_design_heat_kw(design: FacilityConfig, installed_heat_kw: float,
                             *, params: FacilityParams | None = None) -> float:
    """Heat the rejecters are sized for: installed IT heat plus the CDU and facility pump heat at full flow [kW]."""
    return loop_design_kw(design, installed_heat_kw, params=params)[1]


def liquid_design_fraction(design: FacilityConfig, racks_liquid_fraction: float) -> float:
    """Liquid share [0-1] the liquid loop is sized for: the design's override, else the racks' own share."""
    override = design.cooling.design_liquid_fraction
    return float(racks_liquid_fraction) if override is None else float(override)


def rejecter_capacity_kw(design: FacilityConfig, dry_bulb_c, wet_bulb_c, design_heat_kw: float,
                         *, params: FacilityParams | None = None, pressure_pa: float = 101_325.0):
    """(capacity with every aid, dry-only capacity, tower/dry design fan kW) at full fan speed [kW].

    The fan figures (``*_fan_kw_per_kw``) are ratings in sea-level air. The rejecters are sized for their design
    heat, which needs the same air mass at any site: in air at ``pressure_pa`` [Pa] (density proportional to
    pressure) the fans move 101,325 / ``pressure_pa`` times the volume at the same total pressure, so their design
    power rises by that ratio (1.10x at 800 m, 1.21x at 1,600 m); the capacities are unchanged (sized to them).
    """
    c = design.cooling
    p = liquid.cooling_params(params)
    thin = 101_325.0 / pressure_pa  # sea-level density over the site's
    ret_c = c.liquid_supply_temp_c + c.liquid_delta_t_k
    if c.heat_rejection == "cooling_tower":
        design_wb = c.liquid_supply_temp_c - p["tower_approach_k"]
        cap = liquid.rejection_capacity_kw(design_heat_kw, wet_bulb_c, ret_c, design_wb)
        return cap, cap, design_heat_kw * p["tower_fan_kw_per_kw"] * thin
    dry = liquid.rejection_capacity_kw(design_heat_kw, dry_bulb_c, ret_c, c.design_ambient_c)
    fan_kw = design_heat_kw * p["dry_cooler_fan_kw_per_kw"] * thin
    if c.heat_rejection == "adiabatic_dry_cooler":
        pad_c = liquid.adiabatic_inlet_c(dry_bulb_c, wet_bulb_c, params=params)
        return liquid.rejection_capacity_kw(design_heat_kw, pad_c, ret_c, c.design_ambient_c), dry, fan_kw
    return dry, dry, fan_kw


def pumps_kw(design: FacilityConfig, q_kw, liquid_design_kw: float, *,
             params: FacilityParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(CDU pump, facility pump) power [kW] carrying ``q_kw`` [kW] of rack liquid heat.

    Both loops are sized for ``liquid_design_kw`` [kW], the liquid share of the
    installed IT heat: a hall with no liquid-cooled racks has no pumps.
    """
    q = np.asarray(q_kw, dtype=float)
    if liquid_design_kw <= 0:
        return np.zeros(q.shape), np.zeros(q.shape)
    c = design.cooling
    p = liquid.cooling_params(params)
    facility_flow_heat, _ = loop_design_kw(design, liquid_design_kw, params=params)
    cdu = liquid.pump_power_kw(q, liquid_design_kw, c.liquid_delta_t_k, p["cdu_loop_head_kpa"], p["cdu_min_flow_frac"],
                              params=params)
    return cdu, liquid.pump_power_kw(q + cdu, facility_flow_heat, c.liquid_delta_t_k, p["facility_loop_head_kpa"],
                                      params=params)


def _liquid_heat_kw(design: FacilityConfig, it_kw, lf, liquid_design_kw: float,
                    params: FacilityParams | None) -> np.ndarray:
    """Heat into the facility water at IT power ``it_kw``: the racks' liquid share plus CDU and facility pump
    heat [kW]."""
    q = np.asarray(it_kw, dtype=float) * lf
    cdu, fpump = pumps_kw(design, q, liquid_design_kw, params=params)
    return q + cdu + fpump


def max_it_kw(design: FacilityConfig, limit_kw, lf, liquid_design_kw: float, iterations: int = 60, *,
              params: FacilityParams | None = None) -> np.ndarray:
    """Largest IT power per step whose liquid heat fits in ``limit_kw`` [kW] (inf where nothing is liquid-cooled).

    Liquid heat grows with IT power, so a bisection over all steps at once finds it (60 halvings: exact to
    float precision); every smaller load fits too, so a larger demand is never served less.
    """
    limit = np.maximum(np.asarray(limit_kw, dtype=float), 0.0)
    lf = np.broadcast_to(np.asarray(lf, dtype=float), limit.shape)
    liquid_cooled = lf > 0
    lo = np.zeros(limit.shape)
    hi = np.divide(limit, lf, out=np.zeros(limit.shape), where=liquid_cooled)  # the pumps add heat: an upper bound
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        fits = _liquid_heat_kw(design, mid, lf, liquid_design_kw, params) <= limit
        lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
    return np.where(liquid_cooled, lo, np.inf)


def cooling_capacity_kw(design: FacilityConfig, dry_bulb_c, wet_bulb_c, installed_heat_kw: float, *,
                        liquid_fraction: float = 1.0, params: FacilityParams | None = None) -> np.ndarray:
    """IT power whose liquid heat the plant can reject per step without breaking the supply temperature [kW].

    Heat rejecters sized for the liquid share of ``installed_heat_kw`` [kW]
    (``design.cooling.design_liquid_fraction``, else ``liquid_fraction``; plus
    the pump-heat allowance) at ``design.cooling.design_ambient_c``; chillers are added when
    ``overload_rule == 'chillers'``. Heat pumps are left out (they depend on
    the DH demand), so this is the conservative limit a scheduler can obey.
    Below the installed power the value is exact: its liquid heat plus the CDU
    and facility pump heat at that load fills the capacity (above it, any value
    means "no limit"). ``dry_bulb_c``, ``wet_bulb_c`` [°C] (``wet_bulb_c=None`` takes the
    dry-bulb: no evaporative benefit, conservative); ``liquid_fraction`` [0-1]
    converts liquid heat to IT power (the air-cooled share has its own plant). ``params``: the run's facility
    parameters (default: packaged with ``design.model_parameters`` applied).
    """
    params = params or design_params(design)
    if installed_heat_kw <= 0:
        raise InputError("must be > 0", field="installed_heat_kw", value=installed_heat_kw)
    if not 0.0 <= float(liquid_fraction) <= 1.0:
        raise InputError("must lie in [0, 1]", field="liquid_fraction", value=liquid_fraction)
    dry_bulb_c = np.asarray(dry_bulb_c, dtype=float)
    if float(liquid_fraction) == 0.0:  # an all-air site: the liquid loop limits nothing
        return np.full(dry_bulb_c.shape, np.inf)
    wet_bulb_c = dry_bulb_c if wet_bulb_c is None else np.minimum(np.asarray(wet_bulb_c, dtype=float), dry_bulb_c)
    liquid_design = installed_heat_kw * liquid_design_fraction(design, liquid_fraction)
    design_heat = rejection_design_heat_kw(design, liquid_design, params=params)
    cap, _, _ = rejecter_capacity_kw(design, dry_bulb_c, wet_bulb_c, design_heat, params=params)
    if design.cooling.overload_rule == "chillers":
        cap = cap + design.cooling.chiller_capacity_mw * 1000.0
    pump_heat_kw = design_heat - liquid_design  # at full flow: an upper bound at any load
    out = np.array(np.maximum(cap - pump_heat_kw, 0.0) / float(liquid_fraction), dtype=float)  # exact or lower
    short = out < installed_heat_kw  # only there does the limit bind: solve it exactly
    out[short] = max_it_kw(design, np.asarray(cap, dtype=float)[short], float(liquid_fraction), liquid_design,
                         params=params)
    return out if out.ndim else out[()]
