"""Whole-plant runs: energy balance on every step of a year, monotonicity, capacity limits, climate targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dctwin.config.facility import FacilityConfig
from dctwin.errors import InputError
from dctwin.facility import (
    COOLING_POWER_FIELDS,
    POWER_LOSS_FIELDS,
    cooling_capacity_kw,
    facility_kpis,
    monthly_kpis,
    simulate_facility,
)
from dctwin.rng import stream

# Falun SMHI 1991-2020 monthly mean temperature and RH (dossier §3a), proxy for Borlänge
FALUN_T_C = np.array([-4.3, -3.9, 0.0, 5.1, 10.5, 14.8, 17.4, 15.9, 11.2, 5.3, 0.7, -3.0])
FALUN_RH = np.array([82, 75, 63, 55, 49, 54, 57, 62, 67, 73, 82, 80], dtype=float)
INSTALLED_KW = 20_000.0
STEP_S = 900
WEATHER = Path("/work/shared/data/weather")


def borlange_like(step_s: int = STEP_S):
    """A year of synthetic Borlänge weather: monthly normals plus a ±5 K daily cycle (July: ~12/23 °C)."""
    ts = pd.date_range("2027-01-01", periods=365 * 86400 // step_s, freq=pd.Timedelta(seconds=step_s))
    day = ts.day_of_year.to_numpy() - 1 + ts.hour.to_numpy() / 24
    mid = np.arange(12) * 365 / 12 + 15
    mean = np.interp(day, mid, FALUN_T_C, period=365)
    hour = ts.hour.to_numpy() + ts.minute.to_numpy() / 60
    db = mean + 5.5 * np.sin(2 * np.pi * (hour - 9) / 24)
    rh = np.interp(day, mid, FALUN_RH, period=365)
    return ts, db, rh


def heat_demand_mw(db):
    """A degree-day shaped DH demand: 30 MW in the cold, 3 MW summer base (Borlänge interconnector ~30 MW, §2b)."""
    return np.clip(3 + 1.3 * (17 - db), 3, 30)


def run(design=None, it=None, db=None, rh=None, lf=1.0, step_s=STEP_S, demand=None):
    design = design or FacilityConfig()
    n = len(db)
    it = np.full(n, 0.8 * INSTALLED_KW) if it is None else it
    demand = heat_demand_mw(db) if demand is None else demand
    return simulate_facility(design, it, lf, db, None, rh, demand, None, INSTALLED_KW, step_s)


def read_epw_if_present(name: str):
    """(dry-bulb, RH) hourly from a shared EPW file, or skip the test when it is not on this machine."""
    for root in (Path(__file__).resolve().parents[1] / "src/dctwin/site/data/weather", WEATHER):
        path = root / name
        if path.exists():
            rows = [line.split(",") for line in path.read_text().splitlines()[8:] if line.strip()]
            return np.array([float(r[6]) for r in rows]), np.array([float(r[8]) for r in rows])
    pytest.skip(f"{name} not available")


def test_energy_balance_every_step_of_a_year():
    ts, db, rh = borlange_like()
    rng = stream(42, "test-facility-balance")
    it = INSTALLED_KW * rng.uniform(0.3, 1.0, len(ts))
    lf = rng.uniform(0.8, 1.0, len(ts))
    for design, warmer_k in (
        (FacilityConfig(), 22.0),  # hot enough to throttle on summer afternoons
        (FacilityConfig.model_validate({"power_chain": {"redundancy": "2N", "ups_mode": "double_conversion"},
                                        "cooling": {"heat_rejection": "adiabatic_dry_cooler"}}), 22.0),
        (FacilityConfig.model_validate({"cooling": {"heat_rejection": "cooling_tower", "overload_rule": "chillers",
                                                    "chiller_capacity_mw": 5}}), 12.0),
    ):
        r = simulate_facility(design, it, lf, db + warmer_k, None, rh, heat_demand_mw(db), None, INSTALLED_KW,
                              STEP_S)
        parts = (r.it_power_kw + sum(getattr(r, f) for f in POWER_LOSS_FIELDS)
                 + sum(getattr(r, f) for f in COOLING_POWER_FIELDS) + r.ancillary_kw + r.heat_pump_kw)
        np.testing.assert_allclose(parts, r.grid_power_kw, rtol=1e-3)
        np.testing.assert_allclose(r.heat_rejected_kw + r.heat_delivered_kw, r.grid_power_kw, rtol=1e-3)
        np.testing.assert_allclose(r.chiller_kw, r.liquid_chiller_kw + r.air_chiller_kw)
        assert np.all(r.liquid_heat_kw <= r.cooling_capacity_kw * (1 + 1e-9))
        assert np.all(r.throttled_it_kw[r.cooling_shortfall_kw == 0] == 0)
        if warmer_k > 20 and design.cooling.heat_rejection == "dry_cooler":
            assert r.throttled_it_kw.max() > 0  # the balance holds on throttled steps too
        # losses become heat in the right room: UPS and busway losses go to the room air, the rest to the liquid
        np.testing.assert_allclose(r.air_heat_kw, r.it_power_kw * (1 - lf) + r.ups_loss_kw + r.distribution_loss_kw
                                   + r.crah_fan_kw, rtol=1e-9)
        np.testing.assert_allclose(r.liquid_heat_kw, r.it_power_kw * lf + r.cdu_pump_kw + r.facility_pump_kw,
                                   rtol=1e-9)
        assert np.all(r.power_shelf_loss_kw < r.it_power_kw)
        for name, arr in r.to_dict().items():
            assert arr.shape == (len(ts),), name
            if arr.dtype != bool:
                assert np.all(np.isfinite(arr)) and np.all(arr >= 0), name


def test_more_it_load_never_less_grid_power():
    _, db, _rh = borlange_like(3600)
    rng = stream(7, "test-facility-monotone")
    it = np.sort(rng.uniform(0, INSTALLED_KW, 200))
    db1 = np.full(200, float(db[4000]))
    rh1 = np.full(200, 60.0)
    for design in (FacilityConfig(), FacilityConfig.model_validate({"cooling": {"heat_rejection": "cooling_tower"}})):
        r = simulate_facility(design, it, 1.0, db1, None, rh1, 10.0, None, INSTALLED_KW, 3600)
        assert np.all(np.diff(r.grid_power_kw) >= -1e-9)


def test_warmer_ambient_never_less_cooling_power():
    t = np.linspace(-30, 34, 300)
    for kind in ("dry_cooler", "adiabatic_dry_cooler", "cooling_tower"):
        design = FacilityConfig.model_validate({"cooling": {"heat_rejection": kind}})
        r = simulate_facility(design, np.full(300, 0.9 * INSTALLED_KW), 0.9, t, None, np.full(300, 40.0), 0.0,
                              None, INSTALLED_KW, 3600)
        assert r.throttled_it_kw.max() == 0
        assert np.all(np.diff(r.cooling_power_kw) >= -1e-9), kind


def test_hot_hour_shows_shortfall_and_the_rule_applies():
    """At 45 °C dry-bulb the dry coolers (sized for 35 °C) cannot hold full load: reported, then rule applied."""
    db = np.array([20.0, 45.0])
    rh = np.array([30.0, 15.0])
    it = np.full(2, INSTALLED_KW)
    throttle = run(FacilityConfig(), it, db, rh, demand=np.zeros(2))
    assert throttle.heat_over_capacity_kw[0] == 0 and throttle.heat_over_capacity_kw[1] > 0
    assert throttle.cooling_shortfall_kw[1] > 0
    assert throttle.throttled_it_kw[1] > 0 and throttle.it_power_kw[1] < it[1]
    assert np.all(throttle.liquid_heat_kw <= throttle.cooling_capacity_kw * (1 + 1e-9))  # nothing hidden
    # the throttled IT is exactly what the capacity allows
    cap = cooling_capacity_kw(FacilityConfig(), db, None, INSTALLED_KW)
    assert throttle.it_power_kw[1] == pytest.approx(cap[1], rel=1e-9)

    chillers = FacilityConfig.model_validate({"cooling": {"overload_rule": "chillers", "chiller_capacity_mw": 20}})
    ch = run(chillers, it, db, rh, demand=np.zeros(2))
    assert ch.heat_over_capacity_kw[1] > 0 and ch.cooling_shortfall_kw[1] == 0
    assert ch.throttled_it_kw[1] == 0 and ch.liquid_chiller_kw[1] > 0 and ch.chiller_on[1]
    assert ch.grid_power_kw[1] > throttle.grid_power_kw[1]

    small = FacilityConfig.model_validate({"cooling": {"overload_rule": "chillers", "chiller_capacity_mw": 1}})
    sm = run(small, it, db, rh, demand=np.zeros(2))
    assert sm.cooling_shortfall_kw[1] > 0 and sm.throttled_it_kw[1] > 0  # too few chillers: still reported


def test_capacity_falls_with_ambient_and_grows_with_aids():
    db = np.linspace(0, 50, 51)
    wb = db - 12
    dry = cooling_capacity_kw(FacilityConfig(), db, wb, INSTALLED_KW)
    assert np.all(np.diff(dry) <= 0)
    assert dry[35] == pytest.approx(INSTALLED_KW, rel=1e-9)  # full installed heat at the design ambient
    adiabatic = cooling_capacity_kw(
        FacilityConfig.model_validate({"cooling": {"heat_rejection": "adiabatic_dry_cooler"}}), db, wb, INSTALLED_KW)
    assert np.all(adiabatic >= dry - 1e-9) and adiabatic[45] > dry[45]
    # without a wet-bulb the evaporative aids get no credit
    np.testing.assert_allclose(cooling_capacity_kw(
        FacilityConfig.model_validate({"cooling": {"heat_rejection": "adiabatic_dry_cooler"}}), db, None,
        INSTALLED_KW), dry)
    # a tower works against the wet-bulb, so it holds more on a hot dry day
    tower = cooling_capacity_kw(FacilityConfig.model_validate({"cooling": {"heat_rejection": "cooling_tower"}}),
                                db, wb, INSTALLED_KW)
    assert tower[45] > dry[45]
    with pytest.raises(InputError):
        cooling_capacity_kw(FacilityConfig(), db, wb, 0.0)


def test_borlange_like_pue_and_heat_reuse():
    ts, db, rh = borlange_like()
    r = run(FacilityConfig(), None, db, rh)
    k = facility_kpis(r, STEP_S, 0.8, 30.0, ts)
    assert 1.05 <= k["pue"] <= 1.15, k["pue"]  # dossier §7: annual PUE 1.08-1.15; DLC 1.05-1.15 (§4)
    assert k["erf"] > 0 and k["heat_delivered_mwh"] > 0
    assert k["cooling_shortfall_hours"] == 0 and k["throttled_it_mwh"] == 0
    assert k["wue_l_per_kwh"] == 0  # dry coolers only
    months = monthly_kpis(r, STEP_S, 0.8, 30.0, ts)
    assert len(months) == 12
    assert months["it_energy_mwh"].sum() == pytest.approx(k["it_energy_mwh"], rel=1e-9)
    # more heat sold in January than in July
    assert months["heat_delivered_mwh"].iloc[0] > months["heat_delivered_mwh"].iloc[6]


def test_tucson_comes_out_worse_than_borlange():
    db_t, rh_t = read_epw_if_present("USA_AZ_Davis-Monthan.AFB.722745_TMY3.epw")
    ts_t = pd.date_range("2027-01-01", periods=len(db_t), freq="h")
    ts_b, db_b, rh_b = borlange_like(3600)
    lf = 0.95
    borl = facility_kpis(run(FacilityConfig(), None, db_b, rh_b, lf=lf, step_s=3600), 3600, 0.8, 30.0, ts_b)
    tucs = facility_kpis(run(FacilityConfig(), None, db_t, rh_t, lf=lf, step_s=3600, demand=np.zeros(len(db_t))),
                         3600, 0.3, 400.0, ts_t)
    assert tucs["pue"] > borl["pue"]
    assert tucs["chiller_hours"] > 100 and tucs["chiller_hours"] > borl["chiller_hours"]
    assert tucs["over_capacity_hours"] > 0  # 35 °C design ambient is exceeded in Tucson


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError):
        simulate_facility(FacilityConfig(), np.ones(3), 1.0, np.ones(4), None, 50.0, 0.0, None, 10.0, 900)
    with pytest.raises(InputError):
        simulate_facility(FacilityConfig(), np.ones(3), 1.5, np.ones(3), None, 50.0, 0.0, None, 10.0, 900)
    with pytest.raises(InputError):
        simulate_facility(FacilityConfig(), -np.ones(3), 1.0, np.ones(3), None, 50.0, 0.0, None, 10.0, 900)
