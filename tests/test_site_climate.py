"""Synthetic climate: normals reproduced, extremes plausible, seeded, psychrometrics against references."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.facility import moist_air
from dctwin.site import load_profile, synthesize_weather
from dctwin.site.calendar import HourlyCalendar
from dctwin.site.psychro import dew_point_c, rel_humidity_pct

START = dt.date(2027, 1, 1)
N30 = (dt.date(2057, 1, 1) - START).days * 24


@pytest.fixture(scope="module")
def thirty_years():
    w = synthesize_weather(load_profile("climate", "borlange"), START, N30, seed=7)
    cal = HourlyCalendar.build(START, N30)
    return w.assign(month0=cal.month0, year=cal.year, day=np.arange(N30) // 24)


def test_thirty_year_monthly_means_match_falun_normals(thirty_years):
    # Falun SMHI 1991-2020 normals (dossier §3a), the climate file's values.
    normals = np.array(load_profile("climate", "borlange")["monthly_mean_c"])
    means = thirty_years.groupby("month0").dry_bulb_c.mean().to_numpy()
    assert np.all(np.abs(means - normals) < 0.5)


def test_monthly_rh_matches_normals(thirty_years):
    normals = np.array(load_profile("climate", "borlange")["monthly_rh_pct"])
    means = thirty_years.groupby("month0").rel_humidity_pct.mean().to_numpy()
    assert np.all(np.abs(means - normals) < 2.0)


def test_extremes_plausible_against_records(thirty_years):
    # Borlänge records +33.4 / -38.8 °C, Falun +35.1, Dalarna -46.0 (dossier §3a).
    annual_max = thirty_years.groupby("year").dry_bulb_c.max()
    annual_min = thirty_years.groupby("year").dry_bulb_c.min()
    assert annual_max.between(22.0, 36.0).all()
    assert 28.0 <= annual_max.max() <= 36.0
    assert -45.0 < annual_min.min() < -20.0
    assert annual_min.max() < -5.0  # every winter freezes


def test_daily_range_matches_jan_jul_normals(thirty_years):
    # Falun mean daily min/max: Jan -7/-1 (6 K), Jul 12/23 (11 K) (dossier §3a).
    d = thirty_years.groupby("day").agg(hi=("dry_bulb_c", "max"), lo=("dry_bulb_c", "min"), m=("month0", "first"))
    rng = (d.hi - d.lo).groupby(d.m).mean()
    assert rng[0] == pytest.approx(6.0, abs=0.7)
    assert rng[6] == pytest.approx(11.0, abs=0.7)


def test_day_to_day_persistence(thirty_years):
    # Daily-mean anomalies keep the calibrated AR(1) persistence (~0.7, Arlanda IWEC).
    daily = thirty_years.groupby("day").agg(t=("dry_bulb_c", "mean"), m=("month0", "first"), y=("year", "first"))
    a = (daily.t - daily.groupby(["y", "m"]).t.transform("mean")).to_numpy()
    r = np.corrcoef(a[:-1], a[1:])[0, 1]
    assert 0.55 < r < 0.85


def test_physical_bounds(thirty_years):
    w = thirty_years
    assert w.rel_humidity_pct.between(1.0, 100.0).all()
    assert (w.dew_point_c <= w.dry_bulb_c + 1e-9).all()


def test_same_seed_same_bytes_different_seed_differs():
    a = synthesize_weather(load_profile("climate", "borlange"), START, 24 * 60, seed=1)
    b = synthesize_weather(load_profile("climate", "borlange"), START, 24 * 60, seed=1)
    c = synthesize_weather(load_profile("climate", "borlange"), START, 24 * 60, seed=2)
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
    assert not np.array_equal(a.dry_bulb_c.to_numpy(), c.dry_bulb_c.to_numpy())


def test_short_run_is_prefix_of_its_year():
    year = synthesize_weather(load_profile("climate", "borlange"), START, 8760, seed=3)
    week = synthesize_weather(load_profile("climate", "borlange"), dt.date(2027, 3, 1), 24 * 7, seed=3)
    off = (dt.date(2027, 3, 1) - START).days * 24
    np.testing.assert_array_equal(week.dry_bulb_c.to_numpy(), year.dry_bulb_c.to_numpy()[off : off + 168])


def test_wet_bulb_cross_checks_stull_at_sea_level():
    # Stull (2011), J. Appl. Meteor. Climatol. 50:2267, worked example at sea level: T = 20 °C, RH = 50 % ->
    # Tw = 13.7 °C (his fit's stated accuracy -1 to +0.65 K); the one wet bulb (psychrolib) agrees within 0.1 K
    assert float(moist_air.wet_bulb_c(20.0, 50.0, pressure_pa=moist_air.PRESSURE_PA)) == pytest.approx(13.7, abs=0.1)


def test_magnus_dew_point_round_trip_and_reference():
    # At 100 % RH the dew point equals the air temperature; 25 °C / 60 % -> ~16.7 °C (Alduchov & Eskridge 1996 form).
    t = np.array([-20.0, 0.0, 25.0, 40.0])
    assert dew_point_c(t, 100.0) == pytest.approx(t, abs=1e-9)
    assert dew_point_c(25.0, 60.0) == pytest.approx(16.7, abs=0.1)
    assert rel_humidity_pct(t, dew_point_c(t, 55.0)) == pytest.approx(np.full(4, 55.0), abs=1e-9)
