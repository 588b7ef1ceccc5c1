"""The site's air pressure: the EPW's station pressure or the standard atmosphere at site.elevation_m; wet bulb,
humidity and the fans' air density follow it; a station far from site.elevation_m is named, never silent."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.config import load_scenario
from dctwin.config.facility import FacilityConfig
from dctwin.facility import moist_air, simulate_facility
from dctwin.facility.result import COOLING_POWER_FIELDS, POWER_LOSS_FIELDS
from dctwin.site import site_series
from dctwin.site.provenance import site_warnings
from dctwin.site.psychro import site_air_pressure
from dctwin.timeline import Timeline

DAY = Timeline(dt.date(2027, 7, 1), 3600, 24 * 7)


def test_tucson_runs_at_its_station_pressure_with_a_lower_wet_bulb():
    """Davis-Monthan AFB sits at ~809 m: its TMY3 station pressure averages ~92 kPa (standard atmosphere at 800 m:
    92.1 kPa); the same dry bulb and RH give a lower wet bulb than at sea level."""
    site = load_scenario("borlange-design-in-tucson").site
    df = site_series(site, DAY, 42)
    pa = float(df.air_pressure_pa.iloc[0])
    assert (df.air_pressure_pa == pa).all()
    assert pa == pytest.approx(moist_air.standard_pressure_pa(809.0), rel=0.02)
    sea = moist_air.wet_bulb_c(df.dry_bulb_c, df.rel_humidity_pct, pressure_pa=moist_air.PRESSURE_PA)
    assert np.all(df.wet_bulb_c.to_numpy() <= sea + 1e-9) and (sea - df.wet_bulb_c).mean() > 0.3
    # borlange-2027's site.elevation_m (140 m) is 669 m from the station's: said, not silent
    assert any("809 m" in w and "140 m" in w for w in site_warnings(site))


def test_synthetic_and_csv_climates_take_the_standard_atmosphere_at_the_elevation():
    site = load_scenario("borlange-2027").site
    df = site_series(site, DAY, 42)
    assert float(df.air_pressure_pa.iloc[0]) == moist_air.standard_pressure_pa(140.0)
    high = site_series(site.model_copy(update={"elevation_m": 1600.0}), DAY, 42)
    assert float(high.air_pressure_pa.iloc[0]) == pytest.approx(83_523, rel=1e-3)  # ASHRAE ch. 1 eq. 3
    assert (high.wet_bulb_c <= df.wet_bulb_c + 1e-9).all() and (high.dry_bulb_c == df.dry_bulb_c).all()


def test_a_station_pressure_outside_the_tables_is_refused():
    from dctwin.errors import InputError

    with pytest.raises(InputError, match="outside the moist-air tables"):
        site_air_pressure(0.0, np.full(10, 35_000.0), "x.epw")
    pa, origin = site_air_pressure(2000.0, np.full(10, np.nan))  # no station value: the elevation's
    assert pa == moist_air.standard_pressure_pa(2000.0) and "standard atmosphere" in origin


def _air_hall(pressure_pa: float):
    design = FacilityConfig.model_validate({"cooling": {"design_liquid_fraction": 0.0},
                                            "heat_reuse": {"enabled": False}})
    n = 72
    db = np.linspace(5.0, 30.0, n)
    return simulate_facility(design, np.full(n, 800.0), 0.0, db, None, np.full(n, 40.0), 0.0, None, 1000.0, 3600,
                             air_pressure_pa=pressure_pa)


def test_fan_power_per_kw_is_higher_at_altitude_and_the_balance_still_closes():
    """Same heat, same mass of air: at 1,600 m (83.5 kPa, 0.82x the density) the fans move 1.21x the volume at the
    same total pressure, so their power per kW of IT rises by ~1/0.82."""
    sea, high = _air_hall(moist_air.PRESSURE_PA), _air_hall(moist_air.standard_pressure_pa(1600.0))
    ratio = high.crah_fan_kw.sum() / sea.crah_fan_kw.sum()
    assert ratio == pytest.approx(moist_air.PRESSURE_PA / moist_air.standard_pressure_pa(1600.0), rel=0.05)
    assert ratio > 1.15
    for r in (sea, high):
        parts = (r.it_power_kw + sum(getattr(r, f) for f in POWER_LOSS_FIELDS)
                 + sum(getattr(r, f) for f in COOLING_POWER_FIELDS) + r.ancillary_kw + r.heat_pump_kw)
        np.testing.assert_allclose(parts, r.grid_power_kw, rtol=1e-3)
        np.testing.assert_allclose(r.heat_rejected_kw + r.heat_delivered_kw, r.grid_power_kw, rtol=1e-3)


def test_dry_cooler_and_tower_fans_sized_for_the_same_air_mass_draw_more_at_altitude():
    """Rejecters sized for the same design heat move the same air mass: at 1,600 m 1.21x the volume, so their fans
    draw 101,325 / 83,523 = 1.21x at the same speed."""
    n = 48
    db = np.linspace(-5.0, 30.0, n)
    high_pa = moist_air.standard_pressure_pa(1600.0)
    for rejection in ("dry_cooler", "cooling_tower"):
        design = FacilityConfig.model_validate({"cooling": {"heat_rejection": rejection},
                                                "heat_reuse": {"enabled": False}})
        runs = [simulate_facility(design, np.full(n, 900.0), 1.0, db, None, np.full(n, 50.0), 0.0, None, 1000.0,
                                  3600, air_pressure_pa=pa) for pa in (moist_air.PRESSURE_PA, high_pa)]
        sea, high = runs
        ratio = high.dry_cooler_fan_kw.sum() / sea.dry_cooler_fan_kw.sum()
        if rejection == "dry_cooler":  # dry bulb alone sets the capacity: the fans run at the same speed
            np.testing.assert_allclose(high.cooling_capacity_kw, sea.cooling_capacity_kw, rtol=1e-9)
            assert ratio == pytest.approx(moist_air.PRESSURE_PA / high_pa, rel=1e-6)
        else:  # the tower also sees a lower wet bulb (more capacity, slower fans), which gives part of it back
            assert np.all(high.cooling_capacity_kw >= sea.cooling_capacity_kw)
            assert 1.05 < ratio < moist_air.PRESSURE_PA / high_pa
