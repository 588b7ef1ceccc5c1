"""Air side, chillers, moist air and sizing against cited values; humidity never lowers cooling power."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dctwin.config.facility import FacilityConfig
from dctwin.facility import (
    chiller_capacity_factor,
    chiller_cop,
    dx_cop,
    humidity_limits,
    load_params,
    moist_air,
    simulate_facility,
    size_plant,
)

AIR = load_params("air")


def test_moist_air_reference_points():
    """Stull (2011) / ASHRAE at sea level: 20 °C, 50 % RH -> wet-bulb 13.7 °C; saturated air: wet-bulb = dry-bulb."""
    assert moist_air.wet_bulb_c(20.0, 50.0, pressure_pa=moist_air.PRESSURE_PA) == pytest.approx(13.7, abs=0.1)
    assert moist_air.wet_bulb_c(25.0, 100.0, pressure_pa=moist_air.PRESSURE_PA) == pytest.approx(25.0, abs=0.05)
    # ASHRAE Fundamentals 2017 ch. 1 eq. 20/32: W = 0.621945 pw / (p - pw); h = 1.006 t + W (2501 + 1.86 t)
    w = float(moist_air.hum_ratio(20.0, 50.0, pressure_pa=moist_air.PRESSURE_PA))
    assert w == pytest.approx(0.00726, abs=5e-5)  # psychrometric chart, 20 °C / 50 %: 7.3 g/kg
    assert moist_air.enthalpy_kj_per_kg(20.0, w) == pytest.approx(1.006 * 20 + w * (2501 + 1.86 * 20), rel=1e-6)
    # the dew point of saturated air is its temperature
    at = {"pressure_pa": moist_air.PRESSURE_PA}
    assert moist_air.dew_point_c(moist_air.hum_ratio(15.0, 100.0, **at), **at) == pytest.approx(15.0, abs=0.05)


def test_chiller_curve_matches_its_energyplus_rating_point_and_never_runs_away():
    """Carrier 30XA500 (EnergyPlus AirCooledChiller.idf): reference COP 2.9 at 6.67 °C water, 35 °C air."""
    c = AIR["chiller"]
    assert chiller_cop(c["ref_leaving_c"], c["ref_condenser_c"]) == pytest.approx(c["ref_cop"], rel=0.02)
    assert chiller_capacity_factor(c["ref_leaving_c"], c["ref_condenser_c"]) == pytest.approx(1.0)
    cops = chiller_cop(6.67, np.array([30.0, 35.0, 40.0, 45.0]))
    assert np.all(np.diff(cops) < 0)  # COP falls as the lift grows
    # a trim chiller on a 45 °C loop: the curve is held to its fitted range, far from the old COP ~10
    assert chiller_cop(45.0, 10.0) < 4.0
    assert dx_cop(35.0) == pytest.approx(AIR["dx"]["ref_cop"], rel=0.02)


def test_ashrae_recommended_humidity_limits():
    """ASHRAE TC 9.9 recommended: dew point -9..15 °C and RH <= 60 % at the supply temperature."""
    at = {"pressure_pa": moist_air.PRESSURE_PA}
    w_min, w_max = humidity_limits("recommended", 27.0, **at)
    assert moist_air.dew_point_c(w_min, **at) == pytest.approx(-9.0, abs=0.1)
    assert w_max == pytest.approx(min(float(moist_air.hum_ratio_from_dew_point(15.0, **at)),
                                      float(moist_air.hum_ratio(27.0, 60.0, **at))), rel=1e-9)


def _hall(liquid_share: float, **cooling):
    design = FacilityConfig.model_validate({"cooling": cooling, "heat_reuse": {"enabled": False}})
    n = 48
    db = np.linspace(5, 38, n)
    return design, np.full(n, 800.0), liquid_share, db


def test_all_air_hall_draws_no_pump_power():
    design, it, lf, db = _hall(0.0)
    r = simulate_facility(design, it, lf, db, None, np.full(len(db), 50.0), 0.0, None, 1000.0, 3600)
    assert np.all(r.cdu_pump_kw == 0) and np.all(r.facility_pump_kw == 0) and np.all(r.dry_cooler_fan_kw == 0)
    assert np.all(r.crah_fan_kw > 0)


def test_one_megawatt_hall_has_one_megawatt_blocks():
    design = FacilityConfig()  # block_size_mw 3, N+1, fit_to_load
    size = size_plant(design, 1000.0, 900.0)
    assert size.ups_block_kw == pytest.approx(1000.0, rel=0.03)  # IT + busway loss + CDU pumps at full flow
    assert size.ups_units == 2  # N+1
    fixed = size_plant(FacilityConfig.model_validate({"power_chain": {"block_sizing": "fixed"}}), 1000.0, 900.0)
    assert fixed.ups_block_kw == 3000.0
    # the losses: 1 MW blocks lose less at 1 MW than 3 MW blocks do (less no-load loss)
    db = np.full(4, 20.0)
    fit = simulate_facility(design, np.full(4, 900.0), 0.9, db, None, 50.0, 0.0, None, 1000.0, 3600)
    big = simulate_facility(FacilityConfig.model_validate({"power_chain": {"block_sizing": "fixed"}}),
                            np.full(4, 900.0), 0.9, db, None, 50.0, 0.0, None, 1000.0, 3600)
    assert np.all(fit.ups_loss_kw < big.ups_loss_kw)


@pytest.mark.parametrize("cooling", [
    {"air_cooling": "crah_chiller", "air_economiser": "none"},
    {"air_cooling": "crah_chiller", "air_economiser": "direct_air"},
    {"air_cooling": "crah_chiller", "air_economiser": "water_side"},
    {"air_cooling": "crac_dx", "air_economiser": "indirect_air"},
])
def test_dehumidification_costs_power_in_hot_humid_air(cooling):
    design, it, lf, db = _hall(0.0, **cooling)
    dry = simulate_facility(design, it, lf, np.full(len(db), 30.0), None, 20.0, 0.0, None, 1000.0, 3600)
    wet = simulate_facility(design, it, lf, np.full(len(db), 30.0), None, 90.0, 0.0, None, 1000.0, 3600)
    assert np.all(wet.cooling_power_kw > dry.cooling_power_kw)


@settings(max_examples=60, deadline=None)
@given(db=st.floats(-25, 45), rh=st.floats(1, 99), more=st.floats(0.5, 40), lf=st.sampled_from([0.0, 0.5, 0.9]),
       econ=st.sampled_from(["none", "indirect_air", "direct_air", "water_side"]),
       mech=st.sampled_from(["crah_chiller", "crac_dx"]),
       rejection=st.sampled_from(["dry_cooler", "adiabatic_dry_cooler", "cooling_tower"]))
def test_more_humid_air_never_lowers_cooling_power(db, rh, more, lf, econ, mech, rejection):
    """Same IT power served (ample cooling: nothing throttled): wetter outdoor air never needs less cooling power."""
    if econ == "water_side" and mech != "crah_chiller":
        mech = "crah_chiller"
    design = FacilityConfig.model_validate({
        "cooling": {"air_economiser": econ, "air_cooling": mech, "heat_rejection": rejection,
                    "overload_rule": "chillers", "chiller_capacity_mw": 10.0, "air_cooling_capacity_mw": 10.0},
        "heat_reuse": {"enabled": False}})
    rhs = np.array([rh, min(rh + more, 100.0)])
    r = simulate_facility(design, np.full(2, 800.0), lf, np.full(2, db), None, rhs, 0.0, None, 1000.0, 3600)
    assert np.all(r.throttled_it_kw == 0)
    assert r.cooling_power_kw[1] >= r.cooling_power_kw[0] - 1e-9


def test_heat_pumps_run_only_where_the_heat_pays_for_their_electricity():
    """Economic dispatch: a heat pump lifting 45 °C water to 80 °C (COP ~3.5, LiU) runs only where
    heat price x COP > electricity price; 'always' runs it whenever the network takes heat."""
    n = 4
    db = np.full(n, -5.0)
    ratio = np.array([0.1, 0.2, 0.5, 1.0])  # heat price / electricity price
    design = FacilityConfig()
    r = simulate_facility(design, np.full(n, 800.0), 1.0, db, None, 80.0, 5.0, None, 1000.0, 3600,
                          heat_to_power_price_ratio=ratio)
    pays = r.heat_pump_cop * ratio > 1.0
    assert pays.any() and not pays.all()
    assert np.all((r.heat_pump_kw > 0) == pays)
    always = simulate_facility(FacilityConfig.model_validate({"heat_reuse": {"dispatch": "always"}}),
                               np.full(n, 800.0), 1.0, db, None, 80.0, 5.0, None, 1000.0, 3600,
                               heat_to_power_price_ratio=ratio)
    assert np.all(always.heat_pump_kw > 0)


def test_default_scenario_says_by_how_much_its_peak_exceeds_the_envelope():
    """borlange-2027: full IT plus 20 MW of heat pumps on a winter hour cannot fit 23 MW; the check says by how much."""
    from dctwin.config import load_scenario
    from dctwin.facility.peak import peak_kpis, peak_messages
    from dctwin.facility.site_peak import scenario_peak_check

    check = scenario_peak_check(load_scenario("borlange-2027"))
    k = peak_kpis(check)
    assert k["design_peak_over_envelope_mw"] == pytest.approx(check.design_peak_mw - 23.0)
    msgs = peak_messages(check)
    if check.design_peak_mw > 23.0:
        assert any("envelope of 23.0 MW" in m and f"by {check.design_peak_mw - 23.0:.1f} MW" in m for m in msgs)
    else:
        assert not any("envelope" in m for m in msgs)


def test_heat_pump_economics_counts_lifted_heat_and_its_electricity():
    from dctwin.facility.heat_reuse import heat_pump_economics

    n = 4
    r = simulate_facility(FacilityConfig.model_validate({"heat_reuse": {"dispatch": "always"}}), np.full(n, 800.0),
                          1.0, np.full(n, -5.0), None, 80.0, 5.0, None, 1000.0, 3600)
    heat, power = np.full(n, 20.0), np.full(n, 100.0)
    k = heat_pump_economics(r, heat, power, 1.0)
    assert k["heat_pump_heat_revenue_eur"] == pytest.approx((r.heat_delivered_kw * 20.0).sum() / 1000.0)
    assert k["heat_pump_electricity_cost_eur"] == pytest.approx((r.heat_pump_kw * 100.0).sum() / 1000.0)
    # COP ~3.5 and a heat price a fifth of the power price: lifting heat loses money
    assert k["heat_pump_margin_eur"] < 0
