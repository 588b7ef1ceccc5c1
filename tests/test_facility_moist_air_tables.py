"""Moist air at the site's pressure: the shipped tables are psychrolib's own values (one implementation, loaded
fast), and every function agrees with fresh psychrolib calls at 0, 800, 1,600 and 5,000 m."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.facility import moist_air


@pytest.fixture(scope="module")
def psychrolib():
    p = moist_air.scalar_psychrolib()
    p.SetUnitSystem(p.SI)
    return p


def test_shipped_tables_equal_a_fresh_psychrolib_computation(psychrolib):
    with np.load(moist_air.SHIPPED_TABLES) as shipped:
        levels = shipped["pressure_pa"][[0, 7, -1]]  # three of the 14 pressure levels (all of them take ~10 s)
        fresh = moist_air.compute_tables(levels)
        assert set(shipped.files) == set(fresh)
        np.testing.assert_array_equal(shipped["pressure_pa"], moist_air.LEVELS_PA)
        for key, values in fresh.items():
            want = shipped[key][[0, 7, -1]] if key in ("wet_bulb", "pressure_pa") else shipped[key]
            np.testing.assert_array_equal(want, values, err_msg=key)
    assert moist_air.SHIPPED_TABLES.stat().st_size < 600_000  # float32 wet bulbs: 0.57 MB


def test_a_run_reads_the_shipped_tables():
    moist_air._tables.cache_clear()
    tables = moist_air._tables()
    with np.load(moist_air.SHIPPED_TABLES) as shipped:
        np.testing.assert_array_equal(tables["wet_bulb"], shipped["wet_bulb"])
    # 30 °C at 40 % RH: wet-bulb 20.0 °C (ASHRAE psychrometric chart No. 1, sea level)
    assert abs(float(moist_air.wet_bulb_c(30.0, 40.0, pressure_pa=moist_air.PRESSURE_PA)) - 20.0) < 0.2


@pytest.mark.parametrize("elevation_m", [0.0, 800.0, 1600.0, 5000.0])
def test_every_function_matches_psychrolib_at_altitude(psychrolib, elevation_m):
    pa = psychrolib.GetStandardAtmPressure(elevation_m)
    assert moist_air.standard_pressure_pa(elevation_m) == pa
    rng = np.random.default_rng(int(elevation_m))
    t, rh = rng.uniform(-30.0, 50.0, 300), rng.uniform(2.0, 100.0, 300)
    wb = np.array([psychrolib.GetTWetBulbFromRelHum(a, b / 100.0, pa) for a, b in zip(t, rh, strict=True)])
    w = np.array([psychrolib.GetHumRatioFromRelHum(a, b / 100.0, pa) for a, b in zip(t, rh, strict=True)])
    dp = np.array([psychrolib.GetTDewPointFromHumRatio(a, x, pa) for a, x in zip(t, w, strict=True)])
    at = {"pressure_pa": pa}
    away = np.abs(wb) > 1.0  # psychrolib's wet bulb jumps ~0.7 K at 0 °C (ice/water); the grid reads across it
    assert np.abs(moist_air.wet_bulb_c(t, rh, **at) - wb)[away].max() < 0.05
    np.testing.assert_allclose(moist_air.hum_ratio(t, rh, **at), w, rtol=2e-4)
    ok = dp > -49.0  # the grid ends at -50 °C
    assert np.abs(moist_air.dew_point_c(w, **at) - dp)[ok].max() < 0.01
    np.testing.assert_allclose(moist_air.hum_ratio_from_dew_point(dp[ok], **at), w[ok], rtol=2e-4)
    assert moist_air.density_kg_per_m3(20.0, 0.008, **at) == psychrolib.GetMoistAirDensity(20.0, 0.008, pa)


def test_thinner_air_holds_more_water_and_has_a_lower_wet_bulb():
    """Tucson-like 800 m (~92 kPa) against sea level at the same dry bulb and RH: W rises as P / (P - pw) says,
    the wet bulb falls (the psychrometric equation's W*s rises with lower P), the air is 9 % less dense."""
    sea, tucson = moist_air.PRESSURE_PA, moist_air.standard_pressure_pa(800.0)
    assert tucson == pytest.approx(92_000, rel=0.01)
    w_sea = moist_air.hum_ratio(35.0, 20.0, pressure_pa=sea)
    w_up = moist_air.hum_ratio(35.0, 20.0, pressure_pa=tucson)
    assert w_up / w_sea == pytest.approx(1.10, abs=0.01)
    drop = moist_air.wet_bulb_c(35.0, 20.0, pressure_pa=sea) - moist_air.wet_bulb_c(35.0, 20.0, pressure_pa=tucson)
    assert 0.3 < float(drop) < 1.5
    assert moist_air.density_kg_per_m3(30.0, 0.01, pressure_pa=tucson) / moist_air.density_kg_per_m3(
        30.0, 0.01, pressure_pa=sea) == pytest.approx(tucson / sea, rel=1e-12)


def test_a_pressure_outside_the_tables_is_refused():
    with pytest.raises(ValueError, match="outside the moist-air tables"):
        moist_air.wet_bulb_c(20.0, 50.0, pressure_pa=30_000.0)
