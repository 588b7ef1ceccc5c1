"""The facility model of a run: IT power in, grid power, heat and water out, per step.

The steps run in a fixed order over whole arrays (no loop per step):

1. Capacity: the liquid-loop heat the plant can reject this step (heat
   rejecters at the ambient, heat pumps up to the DH demand, and chillers
   when the overload rule allows them). IT power above it is throttled by
   power capping and reported, never hidden.
2. Liquid loop: CDU and facility pumps, heat recovery to district heating,
   trim chillers for what the rejecters cannot hold, dry-cooler (or tower)
   fans, adiabatic pads and their water.
3. Air side: room heat (the air-cooled share of the racks, UPS and busway
   losses) with moist outdoor air: fans, economiser, CRAH coils on chillers
   or CRAC DX units, dehumidification and humidification (``air``).
4. Power chain upstream: busway/PDU, UPS (serving IT and CDU pumps), MV/LV
   transformers, MV switchgear and the utility (HV/MV) transformer carry
   everything to the grid meter.
   Transformer, switchgear and ancillary (lighting, offices) heat leaves
   with ventilation air.

Sizing (``sizing``): pumps and heat rejecters follow the installed liquid
share, power-chain blocks the design load, air-side cooling the design peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.config.facility import FacilityConfig
from dctwin.errors import InputError
from dctwin.facility import air, heat_reuse, moist_air, power_chain, sizing
from dctwin.facility.capacity import (
    cooling_capacity_kw,
    liquid_design_fraction,
    loop_design_kw,
    max_it_kw,
    pumps_kw,
    rejecter_capacity_kw,
    rejection_design_heat_kw,
)
from dctwin.facility.params import FacilityParams, design_params
from dctwin.facility.rejection import run_rejection
from dctwin.facility.result import FacilityResult

__all__ = ["cooling_capacity_kw", "rejection_design_heat_kw", "simulate_facility"]


@dataclass(frozen=True)
class _Inputs:
    """Checked per-step inputs of one facility run."""

    it_req: np.ndarray
    lf: np.ndarray
    db: np.ndarray
    wb: np.ndarray
    dh_c: np.ndarray
    demand_kw: np.ndarray
    w_out: np.ndarray       # outdoor humidity ratio [kg/kg]
    pressure_pa: float      # the site's air pressure [Pa]
    installed_it_kw: float
    liquid_design_kw: float  # liquid share of the installed IT heat: sizes pumps and heat rejecters
    air_design_kw: float     # air-cooled share of the installed IT heat: sizes fans and air-side cooling
    hp_cap_kw: np.ndarray    # heat-pump output allowed per step (0 where lifting heat does not pay) [kW]


def _series(name: str, value, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError("length differs from it_power_kw", field=name, value=arr.shape, allowed=f"({n},) or scalar")
    if np.isnan(arr).any():
        raise InputError("contains NaN", field=name)
    return arr


def _check_inputs(design: FacilityConfig, it_power_kw, liquid_fraction, dry_bulb_c, wet_bulb_c, rel_humidity_pct,
                  heat_demand_mw, dh_supply_temp_c, installed_it_kw: float, step_s: int,
                  installed_liquid_fraction: float | None, heat_to_power_price_ratio,
                  params: FacilityParams, pressure_pa: float) -> _Inputs:
    """Refuse malformed inputs; return every series as an array of the run's length."""
    it_req = np.asarray(it_power_kw, dtype=float)
    if it_req.ndim != 1:
        raise InputError("must be a 1-D array over time", field="it_power_kw", value=it_req.shape)
    n = it_req.shape[0]
    if n and (np.isnan(it_req).any() or it_req.min() < 0):
        raise InputError("must be finite and >= 0", field="it_power_kw", value=float(np.nanmin(it_req)))
    if installed_it_kw <= 0:
        raise InputError("must be > 0", field="installed_it_kw", value=installed_it_kw)
    if step_s <= 0:
        raise InputError("must be > 0", field="step_s", value=step_s)
    lf = _series("liquid_fraction", liquid_fraction, n)
    if n and (lf.min() < 0 or lf.max() > 1):
        raise InputError("must lie in [0, 1]", field="liquid_fraction", value=float(lf.min()), allowed="0..1")
    db = _series("dry_bulb_c", dry_bulb_c, n)
    if rel_humidity_pct is None:
        raise InputError("relative humidity is needed for the moist-air model", field="rel_humidity_pct")
    rh = _series("rel_humidity_pct", rel_humidity_pct, n)
    if not moist_air.LEVELS_PA[0] <= pressure_pa <= moist_air.LEVELS_PA[-1]:
        raise InputError("outside the moist-air tables", field="air_pressure_pa", value=pressure_pa,
                         allowed=f"{moist_air.LEVELS_PA[0]:,.0f} to {moist_air.LEVELS_PA[-1]:,.0f} Pa")
    w_out, wb = moist_air.outdoor_state(db, rh, pressure_pa=pressure_pa, need_wet_bulb=wet_bulb_c is None)
    if wet_bulb_c is not None:
        wb = np.minimum(_series("wet_bulb_c", wet_bulb_c, n), db)
    hr = design.heat_reuse
    dh_c = _series("dh_supply_temp_c", _dh_supply(hr.dh_supply_temp_c, dh_supply_temp_c), n)
    demand_kw = _series("heat_demand_mw", heat_demand_mw, n) * 1000.0 if hr.enabled else np.zeros(n)
    if installed_liquid_fraction is None:  # the run's own extremes: the most liquid and the most air it needs
        lf_liquid = liquid_design_fraction(design, float(lf.max()) if n else 0.0)
        lf_air = liquid_design_fraction(design, float(lf.min()) if n else 0.0)
    else:
        lf_liquid = lf_air = liquid_design_fraction(design, installed_liquid_fraction)
    return _Inputs(it_req, lf, db, wb, dh_c, demand_kw, w_out, float(pressure_pa), float(installed_it_kw),
                   float(installed_it_kw) * lf_liquid, float(installed_it_kw) * (1.0 - lf_air),
                   _heat_pump_allowed_kw(design, dh_c, heat_to_power_price_ratio, n, params))


def _heat_pump_allowed_kw(design: FacilityConfig, dh_c, price_ratio, n: int, params: FacilityParams) -> np.ndarray:
    """Heat-pump output allowed per step [kW]: its capacity, or 0 where economic dispatch finds it does not pay.

    It pays where COP x (heat price / electricity price) > 1: the heat sold is worth more than the
    electricity that lifts it. Without a price ratio no step is refused.
    """
    hr, c = design.heat_reuse, design.cooling
    cap = np.full(n, hr.heat_pump_capacity_mw * 1000.0)
    if price_ratio is None or hr.dispatch == "always":
        return cap
    ratio = _series("heat_to_power_price_ratio", price_ratio, n)
    vals = params.heat_reuse["values"]
    cop = heat_reuse.heat_pump_cop(c.liquid_supply_temp_c + vals["source_offset_k"], dh_c, hr.carnot_fraction,
                                   params=params)
    return np.where(cop * ratio > 1.0, cap, 0.0)


def _reuse_limits(design: FacilityConfig, x: _Inputs, params: FacilityParams):
    """(heat-pump COP [-], most liquid heat reuse can take [kW]) per step."""
    c, hr = design.cooling, design.heat_reuse
    vals = params.heat_reuse["values"]
    cop_hp = heat_reuse.heat_pump_cop(c.liquid_supply_temp_c + vals["source_offset_k"], x.dh_c, hr.carnot_fraction,
                                    params=params)
    direct = x.dh_c <= c.liquid_supply_temp_c + c.liquid_delta_t_k - vals["direct_hx_approach_k"]
    hp_cap_kw = x.hp_cap_kw
    reuse = np.where(direct, x.demand_kw,
                     np.minimum(x.demand_kw, hp_cap_kw) * np.maximum(1.0 - 1.0 / cop_hp, 0.0))
    return cop_hp, reuse


def _throttle(design: FacilityConfig, x: _Inputs, free_cap, chiller_cap_kw: float, params: FacilityParams):
    """(IT power served [kW], liquid heat over free capacity [kW], shortfall past the overload rule [kW])."""
    q_req = x.it_req * x.lf
    cdu_req, fpump_req = pumps_kw(design, q_req, x.liquid_design_kw, params=params)
    liquid_req = q_req + cdu_req + fpump_req
    over = np.maximum(liquid_req - free_cap, 0.0)
    shortfall = np.maximum(over - chiller_cap_kw, 0.0)
    # where heat is short, cap IT at the largest load whose liquid heat (pumps included) fits
    it_allowed = np.full(len(q_req), np.inf)
    short = shortfall > 0  # solve the exact limit only where it binds
    it_allowed[short] = max_it_kw(design, (free_cap + chiller_cap_kw)[short], x.lf[short], x.liquid_design_kw,
                                 params=params)
    return np.where(shortfall > 0, np.minimum(x.it_req, it_allowed), x.it_req), over, shortfall


def _liquid_side(design: FacilityConfig, x: _Inputs, params: FacilityParams) -> dict:
    """Steps 1-2: capacity, throttling, pumps, heat reuse and heat rejection; the result fields they set."""
    c, hr = design.cooling, design.heat_reuse
    supply_c = c.liquid_supply_temp_c
    _, design_heat = loop_design_kw(design, x.liquid_design_kw, params=params)
    cap_rej, cap_dry, design_fan_kw = rejecter_capacity_kw(design, x.db, x.wb, design_heat, params=params,
                                                           pressure_pa=x.pressure_pa)
    chiller_cap_kw = c.chiller_capacity_mw * 1000.0 if c.overload_rule == "chillers" else 0.0
    cop_hp, reuse_max = _reuse_limits(design, x, params)
    free_cap = cap_rej + reuse_max
    it, over, shortfall = _throttle(design, x, free_cap, chiller_cap_kw, params)
    q_liq = it * x.lf
    cdu, fpump = pumps_kw(design, q_liq, x.liquid_design_kw, params=params)
    liquid_heat = q_liq + cdu + fpump
    if hr.enabled:
        delivered, hp_kw, recovered = heat_reuse.recover_heat(
            liquid_heat, x.demand_kw, x.hp_cap_kw, supply_c, supply_c + c.liquid_delta_t_k,
            x.dh_c, hr.carnot_fraction, params=params)
    else:
        delivered = hp_kw = recovered = np.zeros(len(it))
    rej = run_rejection(c.heat_rejection, liquid_heat - recovered, cap_rej, cap_dry, design_heat, design_fan_kw,
                        chiller_cap_kw, supply_c, x.db, x.wb, params=params)
    return {
        "it_demand_kw": x.it_req, "it_power_kw": it, "throttled_it_kw": x.it_req - it,
        "cdu_pump_kw": cdu, "facility_pump_kw": fpump, "dry_cooler_fan_kw": rej.fan_kw,
        "adiabatic_kw": rej.adiabatic_kw, "liquid_chiller_kw": rej.chiller_kw, "heat_pump_kw": hp_kw,
        "liquid_heat_kw": liquid_heat, "heat_recovered_kw": recovered, "heat_delivered_kw": delivered,
        "heat_pump_cop": cop_hp, "cooling_capacity_kw": free_cap + chiller_cap_kw,
        "heat_over_capacity_kw": over, "cooling_shortfall_kw": shortfall, "water_l_per_h": rej.water_l_per_h,
        "adiabatic_on": rej.pads_on,
        "_rejection": rej,
    }


def _air_and_chain(design: FacilityConfig, x: _Inputs, f: dict, params: FacilityParams) -> dict:
    """Steps 3-4: UPS and busway losses, the air side, the upstream chain and the grid meter; fields they set."""
    c, pc = design.cooling, design.power_chain
    it, cdu, rej = f["it_power_kw"], f["cdu_pump_kw"], f["_rejection"]
    size = sizing.size_plant(design, x.installed_it_kw, x.liquid_design_kw, x.air_design_kw, params=params,
                             pressure_pa=x.pressure_pa)
    dist_loss, ups_loss = power_chain.inner_chain_losses_kw(it, cdu, x.installed_it_kw, size.ups_block_kw,
                                                            size.ups_units, pc.redundancy, pc.ups_mode,
                                                            params=params)
    room_heat = it * (1.0 - x.lf) + dist_loss + ups_loss
    a = air.air_side(room_heat, x.db, x.w_out, supply_c=c.air_supply_temp_c, envelope=c.air_envelope,
                     economiser=c.air_economiser, cooling=c.air_cooling, design_room_heat_kw=size.design_room_heat_kw,
                     capacity_kw=size.air_cooling_kw, pressure_pa=x.pressure_pa, params=params)
    air_heat, air_ch_kw, crah, hum = a["air_heat_kw"], a["air_chiller_kw"], a["crah_fan_kw"], a["humidifier_kw"]
    anc_frac = params.power_chain["stages"]["ancillary"]["frac_of_installed_it"]
    ancillary = np.full(len(it), x.installed_it_kw * anc_frac)
    lv_load = (ancillary + it + dist_loss + ups_loss + cdu + f["facility_pump_kw"] + f["dry_cooler_fan_kw"]
               + f["adiabatic_kw"] + f["liquid_chiller_kw"] + air_ch_kw + crah + hum + f["heat_pump_kw"])
    tx_loss, swgr_loss, utx_loss = power_chain.upstream_losses_kw(lv_load, size.site_kw, size.transformer_block_kw,
                                                                  size.transformer_units, pc.redundancy,
                                                                  params=params)
    chiller_kw = f["liquid_chiller_kw"] + air_ch_kw
    return {
        "power_shelf_loss_kw": power_chain.power_shelf_loss_kw(it, x.installed_it_kw, params=params),
        "utility_transformer_loss_kw": utx_loss, "transformer_loss_kw": tx_loss, "switchgear_loss_kw": swgr_loss,
        "ups_loss_kw": ups_loss, "distribution_loss_kw": dist_loss, "air_chiller_kw": air_ch_kw,
        "chiller_kw": chiller_kw, "crah_fan_kw": crah, "humidifier_kw": hum, "ancillary_kw": ancillary,
        "grid_power_kw": lv_load + tx_loss + swgr_loss + utx_loss, "air_heat_kw": air_heat,
        "heat_rejected_kw": (ancillary + rej.rejecter_heat_kw + rej.fan_kw + rej.adiabatic_kw + rej.chiller_heat_kw
                             + rej.chiller_kw + air_heat + air_ch_kw + hum + swgr_loss + tx_loss + utx_loss),
        "economiser_fraction": a["economiser_fraction"], "air_cooling_shortfall_kw": a["air_cooling_shortfall_kw"],
        "chiller_on": chiller_kw > 0.0,
    }


def simulate_facility(
    design: FacilityConfig,
    it_power_kw,
    liquid_fraction,
    dry_bulb_c,
    wet_bulb_c,
    rel_humidity_pct,
    heat_demand_mw,
    dh_supply_temp_c,
    installed_it_kw: float,
    step_s: int,
    *,
    installed_liquid_fraction: float | None = None,
    heat_to_power_price_ratio=None,
    params: FacilityParams | None = None,
    air_pressure_pa: float = moist_air.PRESSURE_PA,
) -> FacilityResult:
    """Facility power, heat and water per step for the IT power the workload asks for.

    ``it_power_kw`` [kW] at the rack inputs; ``liquid_fraction`` [0-1] of the IT
    heat taken by liquid; ``dry_bulb_c``, ``wet_bulb_c`` [°C] (``wet_bulb_c=None``
    derives it from ``rel_humidity_pct`` [%] with psychrolib); ``rel_humidity_pct``
    [%] sets the outdoor humidity ratio; ``heat_demand_mw``
    [MW] district-heating demand the site may serve; ``dh_supply_temp_c`` [°C]
    (None: the design value); ``installed_it_kw`` [kW] sizes the plant (the
    liquid loop for its liquid share: ``design.cooling.design_liquid_fraction``,
    else ``installed_liquid_fraction`` [0-1] of the installed racks, else the
    largest ``liquid_fraction`` of the run; the air side for the rest);
    ``heat_to_power_price_ratio`` [-] per step, heat price over electricity
    price, lets economic dispatch keep heat pumps off where they do not pay;
    ``step_s`` [s] is the step length (the model is steady-state per step); ``params``: the run's facility
    parameters (default: packaged with ``design.model_parameters`` applied); ``air_pressure_pa`` [Pa] the
    site's air pressure (its ``air_pressure_pa`` site series; default sea level, for design-day checks and
    unit tests): humidity ratio, dew point, wet bulb and the fans' air density follow it.
    """
    params = params or design_params(design)
    x = _check_inputs(design, it_power_kw, liquid_fraction, dry_bulb_c, wet_bulb_c, rel_humidity_pct,
                      heat_demand_mw, dh_supply_temp_c, installed_it_kw, step_s, installed_liquid_fraction,
                      heat_to_power_price_ratio, params, air_pressure_pa)
    fields = _liquid_side(design, x, params)
    fields.update(_air_and_chain(design, x, fields, params))
    fields.pop("_rejection")
    return FacilityResult(**fields)


_DH_SUPPLY_WITHOUT_SITE_C = 80.0  # 3rd-generation DH supply (ecp.ep.liu.se/index.php/sims/article/view/747)


def _dh_supply(design_c: float | None, site_c):
    """Network supply temperature [°C]: the design's constant when set, else the site's series.

    Callers without a site series (unit tests, design-day checks) get 80 °C.
    """
    if design_c is not None:
        return design_c
    return _DH_SUPPLY_WITHOUT_SITE_C if site_c is None else site_c
