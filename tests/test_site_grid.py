"""Synthetic SE3 grid: annual mean, negative hours, tails, shapes, carbon, seeding."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.site import load_profile, synthesize_grid
from dctwin.site.calendar import HourlyCalendar
from dctwin.site.grid import monthly_targets

START = dt.date(2027, 1, 1)
SE3 = load_profile("grid", "se3")


@pytest.fixture(scope="module", params=[1, 2, 3])
def year(request):
    g = synthesize_grid(SE3, START, 8760, seed=request.param)
    cal = HourlyCalendar.build(START, 8760)
    return g.assign(month0=cal.month0, hour=cal.hour, weekend=cal.weekday >= 5)


def test_annual_mean_matches_se3_target(year):
    # SE3 2023 average ≈ EUR 51.5/MWh (elmarknad / elpriser24, dossier §3b).
    assert year.price_eur_per_mwh.mean() == pytest.approx(SE3["annual_mean_eur_per_mwh"], rel=0.05)


def test_negative_hour_share_and_tails(year):
    # ~5 % negative hours, hourly range -34..243 öre/kWh at a 59 öre/kWh mean in 2023 (Energiföretagen, §3b).
    p = year.price_eur_per_mwh.to_numpy()
    assert 0.03 <= (p < 0).mean() <= 0.07
    assert 3.0 <= p.max() / p.mean() <= 10.0
    assert -1.0 <= p.min() / p.mean() <= -0.2
    assert np.mean(p) > np.median(p)  # right-skewed


def test_daily_shape_peaks_and_weekends():
    g = synthesize_grid(SE3, START, 10 * 8760, seed=5)
    cal = HourlyCalendar.build(START, 10 * 8760)
    wd = g.price_eur_per_mwh[cal.weekday < 5].groupby(cal.hour[cal.weekday < 5]).mean()
    assert wd[8] > wd[3] * 1.2 and wd[18] > wd[3] * 1.2 and wd[18] > wd[13]
    assert g.price_eur_per_mwh[cal.weekday >= 5].mean() < g.price_eur_per_mwh[cal.weekday < 5].mean()


def test_monthly_targets_keep_the_annual_mean_and_the_winter_peak():
    counts = np.bincount(HourlyCalendar.build(START, 8760).month0, minlength=12).astype(float)
    t = monthly_targets(SE3, "monthly_mean_eur_per_mwh", "annual_mean_eur_per_mwh", counts)
    assert np.dot(t, counts) / counts.sum() == pytest.approx(SE3["annual_mean_eur_per_mwh"])
    assert t[[0, 1, 10, 11]].mean() > 1.5 * t[[6, 7, 8]].mean()  # SE3 2023: winter well above late summer (Ember)


def test_carbon_mean_range_and_correlation(year):
    # Sweden 2023 lifecycle 36 g/kWh (lowcarbonpower); averages 15-40 g/kWh (dossier §3c).
    c = year.carbon_g_per_kwh.to_numpy()
    assert 15.0 <= c.mean() <= 40.0
    assert c.min() > 0
    assert np.corrcoef(c, year.price_eur_per_mwh)[0, 1] > 0.5


def test_seeded():
    a = synthesize_grid(SE3, START, 500, seed=9)
    b = synthesize_grid(SE3, START, 500, seed=9)
    c = synthesize_grid(SE3, START, 500, seed=10)
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
    assert not np.array_equal(a.to_numpy(), c.to_numpy())
