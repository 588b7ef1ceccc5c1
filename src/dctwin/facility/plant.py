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
   losses) through CRAH fans, economiser or chiller.
4. Power chain upstream: busway/PDU, UPS (serving IT and CDU pumps), MV/LV
   transformers, MV switchgear and the utility (HV/MV) transformer carry
   everything to the grid meter.
   Transformer, switchgear and ancillary (lighting, offices) heat leaves
   with ventilation air.
"""

from __future__ import annotations

import numpy as np

from dctwin.config.facility import FacilityConfig
from dctwin.errors import InputError
from dctwin.facility import air, heat_reuse, liquid, power_chain, water
from dctwin.facility.params import load_params
from dctwin.facility.result import FacilityResult

__all__ = ["cooling_capacity_kw", "rejection_design_heat_kw", "simulate_facility"]


def _loop_design_kw(design: FacilityConfig, installed_heat_kw: float) -> tuple[float, float]:
    """(heat through the facility pumps, heat the rejecters are sized for) at full installed load [kW]."""
    p = liquid.cooling_params()
    dt = design.cooling.liquid_delta_t_k
    cdu = float(liquid.pump_power_kw(installed_heat_kw, installed_heat_kw, dt, p["cdu_loop_head_kpa"]))
    facility_flow_heat = installed_heat_kw + cdu
    fpump = float(liquid.pump_power_kw(facility_flow_heat, facility_flow_heat, dt, p["facility_loop_head_kpa"]))
    return facility_flow_heat, facility_flow_heat + fpump


def rejection_design_heat_kw(design: FacilityConfig, installed_heat_kw: float) -> float:
    """Heat the rejecters are sized for: installed IT heat plus the CDU and facility pump heat at full flow [kW]."""
    return _loop_design_kw(design, installed_heat_kw)[1]


def _rejecter_capacity_kw(design: FacilityConfig, dry_bulb_c, wet_bulb_c, design_heat_kw: float):
    """(capacity with every aid, dry-only capacity, tower/dry design fan kW) at full fan speed [kW]."""
    c = design.cooling
    p = liquid.cooling_params()
    ret_c = c.liquid_supply_temp_c + c.liquid_delta_t_k
    if c.heat_rejection == "cooling_tower":
        design_wb = c.liquid_supply_temp_c - p["tower_approach_k"]
        cap = liquid.rejection_capacity_kw(design_heat_kw, wet_bulb_c, ret_c, design_wb)
        return cap, cap, design_heat_kw * p["tower_fan_kw_per_kw"]
    dry = liquid.rejection_capacity_kw(design_heat_kw, dry_bulb_c, ret_c, c.design_ambient_c)
    fan_kw = design_heat_kw * p["dry_cooler_fan_kw_per_kw"]
    if c.heat_rejection == "adiabatic_dry_cooler":
        pad_c = liquid.adiabatic_inlet_c(dry_bulb_c, wet_bulb_c)
        return liquid.rejection_capacity_kw(design_heat_kw, pad_c, ret_c, c.design_ambient_c), dry, fan_kw
    return dry, dry, fan_kw


def _liquid_heat_kw(design: FacilityConfig, it_kw, lf, installed_it_kw: float) -> np.ndarray:
    """Heat into the facility water at IT power ``it_kw``: the racks' liquid share plus CDU and facility pump heat [kW]."""
    c = design.cooling
    p = liquid.cooling_params()
    facility_flow_heat, _ = _loop_design_kw(design, installed_it_kw)
    q = np.asarray(it_kw, dtype=float) * lf
    cdu = liquid.pump_power_kw(q, installed_it_kw, c.liquid_delta_t_k, p["cdu_loop_head_kpa"], p["cdu_min_flow_frac"])
    return q + cdu + liquid.pump_power_kw(q + cdu, facility_flow_heat, c.liquid_delta_t_k, p["facility_loop_head_kpa"])


def _max_it_kw(design: FacilityConfig, limit_kw, lf, installed_it_kw: float, iterations: int = 60) -> np.ndarray:
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
        fits = _liquid_heat_kw(design, mid, lf, installed_it_kw) <= limit
        lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
    return np.where(liquid_cooled, lo, np.inf)


def cooling_capacity_kw(design: FacilityConfig, dry_bulb_c, wet_bulb_c, installed_heat_kw: float, *,
                        liquid_fraction: float = 1.0) -> np.ndarray:
    """IT power whose liquid heat the plant can reject per step without breaking the supply temperature [kW].

    Heat rejecters sized for ``installed_heat_kw`` [kW] (plus the pump-heat
    allowance) at ``design.cooling.design_ambient_c``; chillers are added when
    ``overload_rule == 'chillers'``. Heat pumps are left out (they depend on
    the DH demand), so this is the conservative limit a scheduler can obey.
    Below the installed power the value is exact: its liquid heat plus the CDU
    and facility pump heat at that load fills the capacity (above it, any value
    means "no limit"). ``dry_bulb_c``, ``wet_bulb_c`` [°C] (``wet_bulb_c=None`` takes the
    dry-bulb: no evaporative benefit, conservative); ``liquid_fraction`` [0-1]
    converts liquid heat to IT power (the air-cooled share has its own plant).
    """
    if installed_heat_kw <= 0:
        raise InputError("must be > 0", field="installed_heat_kw", value=installed_heat_kw)
    if not 0.0 <= float(liquid_fraction) <= 1.0:
        raise InputError("must lie in [0, 1]", field="liquid_fraction", value=liquid_fraction)
    dry_bulb_c = np.asarray(dry_bulb_c, dtype=float)
    if float(liquid_fraction) == 0.0:  # an all-air site: the liquid loop limits nothing
        return np.full(dry_bulb_c.shape, np.inf)
    wet_bulb_c = dry_bulb_c if wet_bulb_c is None else np.minimum(np.asarray(wet_bulb_c, dtype=float), dry_bulb_c)
    design_heat = rejection_design_heat_kw(design, installed_heat_kw)
    cap, _, _ = _rejecter_capacity_kw(design, dry_bulb_c, wet_bulb_c, design_heat)
    if design.cooling.overload_rule == "chillers":
        cap = cap + design.cooling.chiller_capacity_mw * 1000.0
    pump_heat_kw = design_heat - installed_heat_kw  # at full flow: an upper bound at any load
    out = np.array(np.maximum(cap - pump_heat_kw, 0.0) / float(liquid_fraction), dtype=float)  # exact or lower
    short = out < installed_heat_kw  # only there does the limit bind: solve it exactly
    out[short] = _max_it_kw(design, np.asarray(cap, dtype=float)[short], float(liquid_fraction), installed_heat_kw)
    return out if out.ndim else out[()]


def _series(name: str, value, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError("length differs from it_power_kw", field=name, value=arr.shape, allowed=f"({n},) or scalar")
    if np.isnan(arr).any():
        raise InputError("contains NaN", field=name)
    return arr


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
) -> FacilityResult:
    """Facility power, heat and water per step for the IT power the workload asks for.

    ``it_power_kw`` [kW] at the rack inputs; ``liquid_fraction`` [0-1] of the IT
    heat taken by liquid; ``dry_bulb_c``, ``wet_bulb_c`` [°C] (``wet_bulb_c=None``
    derives it from ``rel_humidity_pct`` [%] by Stull 2011); ``heat_demand_mw``
    [MW] district-heating demand the site may serve; ``dh_supply_temp_c`` [°C]
    (None: the design value); ``installed_it_kw`` [kW] sizes the plant;
    ``step_s`` [s] is the step length (the model is steady-state per step).
    """
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
    wb = (liquid.wet_bulb_stull_c(db, _series("rel_humidity_pct", rel_humidity_pct, n)) if wet_bulb_c is None
          else np.minimum(_series("wet_bulb_c", wet_bulb_c, n), db))
    hr = design.heat_reuse
    dh_c = _series("dh_supply_temp_c", hr.dh_supply_temp_c if dh_supply_temp_c is None else dh_supply_temp_c, n)
    demand_kw = _series("heat_demand_mw", heat_demand_mw, n) * 1000.0 if hr.enabled else np.zeros(n)

    c = design.cooling
    p = liquid.cooling_params()
    supply_c = c.liquid_supply_temp_c
    return_c = supply_c + c.liquid_delta_t_k
    facility_flow_heat, design_heat = _loop_design_kw(design, installed_it_kw)
    hp_cap_kw = hr.heat_pump_capacity_mw * 1000.0

    # 1. capacity and the overload rule
    cap_rej, cap_dry, design_fan_kw = _rejecter_capacity_kw(design, db, wb, design_heat)
    chiller_cap_kw = c.chiller_capacity_mw * 1000.0 if c.overload_rule == "chillers" else 0.0
    cop_hp = heat_reuse.heat_pump_cop(supply_c + load_params("heat_reuse")["values"]["source_offset_k"], dh_c,
                                      hr.carnot_fraction)
    direct = dh_c <= return_c - load_params("heat_reuse")["values"]["direct_hx_approach_k"]
    reuse_max = np.where(direct, demand_kw, np.minimum(demand_kw, hp_cap_kw) * np.maximum(1.0 - 1.0 / cop_hp, 0.0))
    q_req = it_req * lf
    cdu_req = liquid.pump_power_kw(q_req, installed_it_kw, c.liquid_delta_t_k, p["cdu_loop_head_kpa"],
                                   p["cdu_min_flow_frac"])
    liquid_req = q_req + cdu_req + liquid.pump_power_kw(q_req + cdu_req, facility_flow_heat, c.liquid_delta_t_k,
                                                        p["facility_loop_head_kpa"])
    free_cap = cap_rej + reuse_max
    over = np.maximum(liquid_req - free_cap, 0.0)
    shortfall = np.maximum(over - chiller_cap_kw, 0.0)
    # where heat is short, cap IT at the largest load whose liquid heat (pumps included) fits
    it_allowed = np.full(n, np.inf)
    short = shortfall > 0  # solve the exact limit only where it binds
    it_allowed[short] = _max_it_kw(design, (free_cap + chiller_cap_kw)[short], lf[short], installed_it_kw)
    it = np.where(shortfall > 0, np.minimum(it_req, it_allowed), it_req)
    throttled = it_req - it

    # 2. liquid loop
    q_liq = it * lf
    cdu = liquid.pump_power_kw(q_liq, installed_it_kw, c.liquid_delta_t_k, p["cdu_loop_head_kpa"],
                               p["cdu_min_flow_frac"])
    fpump = liquid.pump_power_kw(q_liq + cdu, facility_flow_heat, c.liquid_delta_t_k, p["facility_loop_head_kpa"])
    liquid_heat = q_liq + cdu + fpump
    if hr.enabled:
        delivered, hp_kw, recovered = heat_reuse.recover_heat(liquid_heat, demand_kw, hp_cap_kw, supply_c, return_c,
                                                              dh_c, hr.carnot_fraction)
    else:
        delivered = hp_kw = recovered = np.zeros(n)
    rest = liquid_heat - recovered
    ch_heat = np.clip(rest - cap_rej, 0.0, chiller_cap_kw)
    liquid_ch_kw = ch_heat / liquid.chiller_cop(supply_c, db)
    rejecter_heat = np.maximum(rest - ch_heat, 0.0)  # never below zero by rounding
    if c.heat_rejection == "adiabatic_dry_cooler":
        # wet the pads when dry cooling cannot hold the heat, or when fans + spray pumps then draw less
        need = rejecter_heat > cap_dry * (1.0 + 1e-9)
        speed_wet = np.minimum(np.divide(rejecter_heat, cap_rej, out=np.zeros(n), where=cap_rej > 0), 1.0)
        air_wet = design_heat / (p["air_cp_kj_per_kg_k"] * p["dry_cooler_air_rise_k"]) * speed_wet
        pad_c0 = liquid.adiabatic_inlet_c(db, wb)
        wet_kw = (liquid.fan_power_kw(rejecter_heat, cap_rej, design_fan_kw)
                  + water.adiabatic_water_l_per_h(air_wet, db, pad_c0) / 3600.0 * p["adiabatic_pump_kw_per_kg_s"])
        pads = need | ((rejecter_heat > 0) & (wet_kw < liquid.fan_power_kw(rejecter_heat, cap_dry, design_fan_kw)))
        cap_now = np.where(pads, cap_rej, cap_dry)
    else:
        pads = np.zeros(n, dtype=bool)
        cap_now = cap_rej
    fan_kw = liquid.fan_power_kw(rejecter_heat, cap_now, design_fan_kw)
    if chiller_cap_kw > 0:
        # where the chillers can carry all the heat and that draws less than rejecter fans plus trim
        # chiller (near the water temperature the fans barely help), the plant runs the chillers alone
        rest_kw = np.maximum(rest, 0.0)  # never below zero by rounding
        chill_only_kw = rest_kw / liquid.chiller_cop(supply_c, db)
        alone = (rest_kw > 0) & (rest_kw <= chiller_cap_kw) & (chill_only_kw < fan_kw + liquid_ch_kw)
        if alone.any():
            ch_heat = np.where(alone, rest_kw, ch_heat)
            liquid_ch_kw = np.where(alone, chill_only_kw, liquid_ch_kw)
            rejecter_heat = np.where(alone, 0.0, rejecter_heat)
            fan_kw = np.where(alone, 0.0, fan_kw)
            pads = pads & ~alone
    if c.heat_rejection == "cooling_tower":
        water_l_h = water.tower_water_l_per_h(rejecter_heat)
        adiabatic_kw = np.zeros(n)
    elif c.heat_rejection == "adiabatic_dry_cooler":
        speed = np.minimum(np.divide(rejecter_heat, cap_now, out=np.zeros(n), where=cap_now > 0), 1.0)
        air_kg_s = design_heat / (p["air_cp_kj_per_kg_k"] * p["dry_cooler_air_rise_k"]) * speed
        pad_c = liquid.adiabatic_inlet_c(db, wb)
        water_l_h = np.where(pads, water.adiabatic_water_l_per_h(air_kg_s, db, pad_c), 0.0)
        adiabatic_kw = water_l_h / 3600.0 * p["adiabatic_pump_kw_per_kg_s"]
    else:
        water_l_h = np.zeros(n)
        adiabatic_kw = np.zeros(n)

    # 3. power chain inside the UPS, then the air side
    pc = design.power_chain
    block_kw = pc.block_size_mw * 1000.0
    paths = 2 if pc.redundancy == "2N" else 1
    dist_loss = power_chain.distribution_loss_kw(it, installed_it_kw, paths)
    n_ups = power_chain.units_for_redundancy(installed_it_kw, block_kw, pc.redundancy)
    ups_loss = power_chain.ups_loss_kw(it + dist_loss + cdu, block_kw, n_ups, pc.ups_mode)
    room_heat = it * (1.0 - lf) + dist_loss + ups_loss
    crah = air.crah_fan_kw(room_heat)
    air_heat = room_heat + crah
    econ = air.economiser_fraction(db, c.air_supply_temp_c)
    air_ch_kw = air.air_chiller_kw(air_heat * (1.0 - econ), db, c.air_supply_temp_c)

    # 4. upstream power chain
    site_kw = installed_it_kw * load_params("power_chain")["stages"]["transformer"]["sizing_factor"]
    ancillary = np.full(n, installed_it_kw * load_params("power_chain")["stages"]["ancillary"]["frac_of_installed_it"])
    lv_load = (ancillary + it + dist_loss + ups_loss + cdu + fpump + fan_kw + adiabatic_kw + liquid_ch_kw + air_ch_kw + crah
               + hp_kw)
    n_tx = power_chain.units_for_redundancy(site_kw, block_kw, pc.redundancy)
    tx_loss = power_chain.transformer_loss_kw(lv_load, block_kw, n_tx)
    swgr_loss = power_chain.switchgear_loss_kw(lv_load + tx_loss, site_kw, paths)
    n_utx = power_chain.units_for_redundancy(site_kw, site_kw, pc.redundancy)
    utx_loss = power_chain.utility_transformer_loss_kw(lv_load + tx_loss + swgr_loss, site_kw, n_utx)
    grid = lv_load + tx_loss + swgr_loss + utx_loss

    rejected = (ancillary + rejecter_heat + fan_kw + adiabatic_kw + ch_heat + liquid_ch_kw + air_heat + air_ch_kw + swgr_loss
                + tx_loss + utx_loss)
    chiller_kw = liquid_ch_kw + air_ch_kw
    return FacilityResult(
        it_demand_kw=it_req,
        it_power_kw=it,
        throttled_it_kw=throttled,
        power_shelf_loss_kw=power_chain.power_shelf_loss_kw(it, installed_it_kw),
        utility_transformer_loss_kw=utx_loss,
        transformer_loss_kw=tx_loss,
        switchgear_loss_kw=swgr_loss,
        ups_loss_kw=ups_loss,
        distribution_loss_kw=dist_loss,
        cdu_pump_kw=cdu,
        facility_pump_kw=fpump,
        dry_cooler_fan_kw=fan_kw,
        adiabatic_kw=adiabatic_kw,
        liquid_chiller_kw=liquid_ch_kw,
        air_chiller_kw=air_ch_kw,
        chiller_kw=chiller_kw,
        crah_fan_kw=crah,
        ancillary_kw=ancillary,
        heat_pump_kw=hp_kw,
        grid_power_kw=grid,
        liquid_heat_kw=liquid_heat,
        air_heat_kw=air_heat,
        heat_recovered_kw=recovered,
        heat_delivered_kw=delivered,
        heat_rejected_kw=rejected,
        heat_pump_cop=cop_hp,
        cooling_capacity_kw=free_cap + chiller_cap_kw,
        heat_over_capacity_kw=over,
        cooling_shortfall_kw=shortfall,
        water_l_per_h=water_l_h,
        economiser_fraction=econ,
        chiller_on=chiller_kw > 0.0,
        adiabatic_on=pads,
    )
