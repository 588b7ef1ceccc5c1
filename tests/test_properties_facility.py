"""Physics properties of the facility model over random designs, loads and weather (issue 7, item 2).

For any valid facility design (every field drawn across its allowed range),
any IT load up to the installed power, any liquid-cooled share and weather:

* more IT load never means less grid power;
* a warmer ambient never means less cooling power (on steps where neither
  run throttles: throttling removes heat, so it may lower cooling power);
* efficiencies stay in (0, 1]: IT/grid (1/PUE), every power-chain stage, the
  economiser share, the heat-reuse share of grid power;
* power, heat and water are never negative and always finite;
* the energy balance closes on every step: grid power = IT + losses + cooling
  + ancillary + heat pumps = heat rejected + heat delivered to district heating.

And for the rack power curve: monotone in utilisation, between idle and full
power, and a tighter power cap never draws more.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dctwin.catalog import load_catalog
from dctwin.config.facility import FacilityConfig
from dctwin.facility import it_power_kw, simulate_facility
from dctwin.facility.result import FacilityResult

N = 24  # steps per example
PROPS = {"deadline": None, "database": None, "max_examples": 150}
NON_NEGATIVE = [f.name for f in dataclasses.fields(FacilityResult)
                if f.name.endswith(("_kw", "_l_per_h")) or f.name in ("heat_pump_cop", "economiser_fraction")]


@st.composite
def designs(draw) -> FacilityConfig:
    """A facility design with every field drawn from its allowed range; invalid combinations are skipped."""
    supply = draw(st.floats(15, 70))
    doc = {
        "power_chain": {"redundancy": draw(st.sampled_from(["N", "N+1", "2N"])),
                        "ups_mode": draw(st.sampled_from(["double_conversion", "eco"])),
                        "block_size_mw": draw(st.floats(0.25, 20))},
        "cooling": {"liquid_supply_temp_c": supply,
                    "liquid_delta_t_k": draw(st.floats(1, 30)),
                    "heat_rejection": draw(st.sampled_from(["dry_cooler", "adiabatic_dry_cooler", "cooling_tower"])),
                    "design_ambient_c": draw(st.floats(-10, min(55.0, supply - 1.0))),
                    "chiller_capacity_mw": draw(st.sampled_from([0.0, 1.0, 5.0, 50.0])),
                    "air_supply_temp_c": draw(st.floats(15, 35)), "air_envelope": "A2",
                    "overload_rule": draw(st.sampled_from(["throttle", "chillers"]))},
        "heat_reuse": {"enabled": draw(st.booleans()),
                       "heat_pump_capacity_mw": draw(st.floats(0, 50)),
                       "dh_supply_temp_c": draw(st.floats(30, 130)),
                       "carnot_fraction": draw(st.floats(0.05, 1))},
    }
    try:
        return FacilityConfig.model_validate(doc)
    except ValidationError:
        assume(False)


@st.composite
def conditions(draw) -> dict:
    """Installed power, per-step IT load, liquid share, weather and district-heating demand."""
    installed = draw(st.floats(50, 50_000))
    def arr(lo, hi):
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=N, max_size=N)))
    lf = draw(st.one_of(st.floats(0, 1), st.just(1.0), st.builds(lambda: None)))
    return {
        "installed": installed,
        "it": installed * arr(0, 1),
        "lf": arr(0, 1) if lf is None else lf,
        "db": arr(-35, 45),
        "rh": arr(3, 100),
        "demand_mw": arr(0, 1.5) * installed / 1000.0,
        "step_s": draw(st.sampled_from([60, 900, 3600])),
    }


def _run(design, c, it=None, db=None):
    return simulate_facility(design, c["it"] if it is None else it, c["lf"], c["db"] if db is None else db, None,
                             c["rh"], c["demand_mw"], None, c["installed"], c["step_s"])


def _check_physics(r: FacilityResult, installed: float) -> None:
    tol = 1e-9 * installed + 1e-9
    for name in NON_NEGATIVE:
        v = np.asarray(getattr(r, name), dtype=float)
        assert np.isfinite(v).all(), f"{name} not finite: {v}"
        assert (v >= -tol).all(), f"{name} negative: {v.min()}"
    # balance 1: the grid meter carries IT, losses, cooling, ancillary and heat pumps
    parts = r.it_power_kw + r.power_losses_kw + r.cooling_power_kw + r.humidifier_kw + r.ancillary_kw + r.heat_pump_kw
    np.testing.assert_allclose(r.grid_power_kw, parts, rtol=1e-9, atol=tol)
    # balance 2: every kW drawn leaves as heat, to the ambient or to district heating
    np.testing.assert_allclose(r.grid_power_kw, r.heat_rejected_kw + r.heat_delivered_kw, rtol=1e-9, atol=tol)
    np.testing.assert_allclose(r.chiller_kw, r.liquid_chiller_kw + r.air_chiller_kw, rtol=1e-12, atol=tol)
    # throttling only removes IT power
    assert (r.it_power_kw <= r.it_demand_kw + tol).all()
    np.testing.assert_allclose(r.throttled_it_kw, r.it_demand_kw - r.it_power_kw, atol=tol)
    # efficiencies in (0, 1]
    grid = r.grid_power_kw
    assert (grid > 0).all()  # ancillary loads draw even at zero IT
    eff = r.it_power_kw / grid
    assert ((eff >= 0) & (eff <= 1)).all()
    assert (r.heat_delivered_kw <= grid + tol).all()  # energy reuse factor <= 1
    assert ((r.economiser_fraction >= 0) & (r.economiser_fraction <= 1)).all()
    busy = r.it_power_kw > 1e-6 * installed
    assert (r.power_shelf_loss_kw[busy] < r.it_power_kw[busy]).all()
    ups_in = r.it_power_kw + r.distribution_loss_kw + r.cdu_pump_kw
    # a UPS carrying a subnormal load (5e-324 kW, drawn by hypothesis) has an efficiency that rounds to 0: the
    # check starts at a millionth of the installed power, as the power shelf's above
    ups_eff = np.divide(ups_in, ups_in + r.ups_loss_kw, out=np.ones(N), where=ups_in > 1e-6 * installed)
    assert ((ups_eff > 0) & (ups_eff <= 1)).all()


PLATFORMS = sorted({p.id: p for p in load_catalog().values()}.values(), key=lambda p: p.id)


# --- findings of these properties (issue 7): small cases, and a check of whether each is still there ---

def _small_design(**kw) -> FacilityConfig:
    """A valid small-plant design; ``hr_*`` keys go to heat_reuse, the rest to cooling."""
    cooling = {"liquid_supply_temp_c": 15.0, "liquid_delta_t_k": 1.0, "heat_rejection": "dry_cooler",
                   "design_ambient_c": 0.0, "chiller_capacity_mw": 0.0,
                   "air_supply_temp_c": 15.0, "air_envelope": "A2",
                   "overload_rule": "throttle"}
    reuse = {"enabled": False, "heat_pump_capacity_mw": 0.0, "dh_supply_temp_c": 30.0, "carnot_fraction": 1.0}
    for k, v in kw.items():
        (reuse if k.startswith("hr_") else cooling)[k.removeprefix("hr_")] = v
    chain = {"redundancy": "N", "ups_mode": "double_conversion", "block_size_mw": 1.0}
    return FacilityConfig.model_validate({"power_chain": chain, "cooling": cooling, "heat_reuse": reuse})


def _small_run(design, it_kw, db_c, demand_mw=0.0, lf=1.0):
    it = np.atleast_1d(np.asarray(it_kw, dtype=float))
    n = it.size
    return simulate_facility(design, it, lf, np.broadcast_to(np.asarray(db_c, dtype=float), (n,)), None,
                             np.full(n, 3.0), np.full(n, demand_mw), None, 50.0, 60)


def _case_negative_heat_pump():
    r = _small_run(_small_design(hr_enabled=True, hr_carnot_fraction=0.0625), 0.0, 0.0, lf=0.0)
    assert (r.heat_pump_kw >= 0).all(), r.heat_pump_kw


def _case_throttle_not_monotone():
    d = _small_design(liquid_delta_t_k=1.5, hr_enabled=True, hr_heat_pump_capacity_mw=1.0)
    r = _small_run(d, np.array([3.125, 5.0, 10.0, 25.0, 50.0]), 16.0, demand_mw=0.00625)
    assert (np.diff(r.it_power_kw) >= -1e-9).all(), r.it_power_kw
    assert (np.diff(r.grid_power_kw) >= -1e-9).all(), r.grid_power_kw


def _case_pads_lower_cooling_power():
    d = _small_design(liquid_supply_temp_c=37.0, heat_rejection="adiabatic_dry_cooler", design_ambient_c=11.0)
    r = _small_run(d, np.full(3, 35.15625), np.array([20.0, 20.5, 21.0]))
    assert (r.throttled_it_kw == 0).all()
    assert (np.diff(r.cooling_power_kw) >= -1e-9).all(), r.cooling_power_kw


def _case_fans_stop_without_capacity():
    d = _small_design(air_supply_temp_c=20.0)
    r = _small_run(d, np.zeros(4), np.array([14.0, 15.5, 16.0, 17.0]))
    assert (np.diff(r.cooling_power_kw) >= -1e-9).all(), r.cooling_power_kw


def _case_parts_above_nameplate():
    for platform in PLATFORMS:
        # the scenario's power-envelope check counts max(unit_max_kw, parts_max_kw) per unit
        full = float(it_power_kw(platform, 1.0, 1.0, 1.0))
        assert full <= max(platform.unit_max_kw, platform.parts_max_kw) * 1.0001, (platform.id, full)


@settings(**PROPS)
@given(design=designs(), c=conditions())
def test_balance_closes_and_flows_are_physical(design, c):
    _check_physics(_run(design, c), c["installed"])


@settings(**PROPS)
@given(design=designs(), c=conditions(), extra=st.lists(st.floats(0, 1), min_size=N, max_size=N))
def test_more_it_load_never_less_grid_power(design, c, extra):
    more = np.minimum(c["it"] + np.array(extra) * c["installed"], c["installed"])
    base, loaded = _run(design, c), _run(design, c, it=more)
    _check_physics(loaded, c["installed"])
    tol = 1e-9 * c["installed"]
    assert (loaded.grid_power_kw >= base.grid_power_kw - tol).all(), (
        np.flatnonzero(loaded.grid_power_kw < base.grid_power_kw - tol))


@settings(**PROPS)
@given(design=designs(), c=conditions(), warmer=st.lists(st.floats(0, 15), min_size=N, max_size=N))
def test_warmer_ambient_never_less_cooling_power(design, c, warmer):
    hot_db = c["db"] + np.array(warmer)
    base, hot = _run(design, c), _run(design, c, db=hot_db)
    _check_physics(hot, c["installed"])
    # steady: everything served on both sides (a chiller at its capacity limit draws less as it carries less)
    steady = ((base.throttled_it_kw == 0) & (hot.throttled_it_kw == 0) & (base.air_cooling_shortfall_kw == 0)
              & (hot.air_cooling_shortfall_kw == 0))
    tol = 1e-9 * c["installed"]
    worse = steady & (hot.cooling_power_kw < base.cooling_power_kw - tol)
    assert not worse.any(), {
        "step": int(np.flatnonzero(worse)[0]), "db": c["db"][worse][:1], "hot_db": hot_db[worse][:1],
        "cooling_kw": base.cooling_power_kw[worse][:1], "hot_cooling_kw": hot.cooling_power_kw[worse][:1],
        "adiabatic": (base.adiabatic_on[worse][:1], hot.adiabatic_on[worse][:1])}


@settings(**{**PROPS, "max_examples": 200})
@given(platform=st.sampled_from(PLATFORMS), u=st.lists(st.floats(0, 1), min_size=2, max_size=2),
       caps=st.lists(st.floats(0, 1), min_size=2, max_size=2), units=st.floats(0, 1e5))
def test_rack_power_is_monotone_and_bounded(platform, u, caps, units):
    lo_u, hi_u = sorted(u)
    lo_cap, hi_cap = sorted(caps)
    def p(uu, cap):
        return float(it_power_kw(platform, units, uu, cap))
    tol = 1e-9 * (1 + units * platform.unit_max_kw)
    assert p(lo_u, hi_cap) <= p(hi_u, hi_cap) + tol          # more utilisation, never less power
    assert p(hi_u, lo_cap) <= p(hi_u, hi_cap) + tol          # tighter cap, never more power
    # the parts' sum matches the catalog's idle and nameplate power within 2 % (rounding of published parts)
    assert units * platform.unit_idle_kw * 0.98 - tol <= p(0.0, 1.0)   # idle floor
    # full-load ceiling: what the power-envelope check counts per unit (nameplate, or the parts' sum if higher)
    assert p(1.0, 1.0) <= units * max(platform.unit_max_kw, platform.parts_max_kw) * 1.0001 + tol
    assert p(lo_u, lo_cap) >= 0


# --- the findings, one test each -----------------------------------------------------------------

def test_heat_pump_with_a_low_carnot_fraction_never_draws_negative_power():
    """carnot_fraction 0.0625 is allowed, and gives a heating COP below 1: the heat pump must then stay off
    (or the schema refuse such a design), not report negative electricity."""
    _case_negative_heat_pump()


def test_throttling_never_gives_more_it_power_to_a_smaller_demand():
    """Where heat rejection is nearly gone (16 °C air, 15 °C supply), 5 kW of demand runs unthrottled but
    10 kW is cut to ~0.5 kW: the conservative cap must not fall below a load that fits."""
    _case_throttle_not_monotone()


def test_adiabatic_pads_switching_on_never_lowers_cooling_power():
    """At 20 °C the dry coolers run fans near full speed; at 20.5 °C the pads switch on and the fans slow
    down so much that the warmer step needs less cooling power than the cooler one."""
    _case_pads_lower_cooling_power()


def test_fans_keep_running_when_the_air_is_too_warm_to_reject_heat():
    """With air at or above the water return the rejecters' capacity is zero; the pumps' own heat must
    still leave, so the fans cannot stop (they did: cooling power fell from 15.5 °C to 16 °C)."""
    _case_fans_stop_without_capacity()


def test_catalog_parts_never_exceed_the_nameplate_the_envelope_check_uses():
    """rubin-ultra-nvl576: its parts draw 622.7 kW at full load, its unit_max_kw is 600 kW."""
    _case_parts_above_nameplate()
