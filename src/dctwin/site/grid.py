"""Synthetic hourly day-ahead price and grid carbon intensity for a bidding zone.

Model, per whole calendar years (``dctwin.site.calendar.full_years``):

    x     = hour_shape(hour, day type) * exp(sd_d z_d + sd_h z_h - var/2)
    price = level(season) * x - b

``z_d`` is a daily AR(1) (weather regimes), ``z_h`` an hourly AR(1); the
lognormal factor gives the heavy right tail. ``level`` is a periodic
piecewise-linear curve through 12 mid-month knots, solved (a 12x12 linear
system) so that each calendar month's mean price equals the zone's sourced
monthly mean; ``b`` shifts the lowest ``negative_hour_share`` of hours below
zero. Carbon intensity follows the same construction:

    carbon = c_level(season) * (base + (1 - base) * max(price, 0) / mean(max(price, 0)))

with ``c_level`` solved so each month's mean intensity equals its target, so
carbon is correlated with price and meets its monthly and annual means by
construction.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dctwin.rng import stream
from dctwin.site.calendar import HourlyCalendar, basis_month_means, full_years, interp_knots, month_basis
from dctwin.site.climate import ar1
from dctwin.site.profiles import Profile

__all__ = ["monthly_targets", "synthesize_grid"]

_MIN_LEVEL_FRACTION = 0.05  # knots below 5 % of the mean target would make the month's price shape meaningless


def monthly_targets(profile: Profile, key: str, annual_key: str, counts: np.ndarray) -> np.ndarray:
    """The profile's 12 monthly means, scaled so their hour-weighted mean equals the annual mean [unit of key].

    ``counts`` hours of each calendar month in the synthesised span. A profile
    without the monthly list gets a flat year at the annual mean.
    """
    annual = float(profile[annual_key])
    if key not in profile:
        return np.full(12, annual)
    m = np.asarray(profile[key], dtype=float)
    return m * annual / (float(np.dot(m, counts)) / float(counts.sum()))


def _solve_level(targets: np.ndarray, x: np.ndarray, cal: HourlyCalendar, basis) -> np.ndarray:
    """Curve through 12 knots whose product with ``x`` has the target mean in every calendar month."""
    knots = np.linalg.solve(basis_month_means(cal.month0, basis, x), targets)
    floor = _MIN_LEVEL_FRACTION * float(np.mean(np.abs(targets)))
    return interp_knots(np.maximum(knots, floor), basis)


def _price(p: Profile, cal: HourlyCalendar, x: np.ndarray, basis, counts: np.ndarray) -> np.ndarray:
    targets = monthly_targets(p, "monthly_mean_eur_per_mwh", "annual_mean_eur_per_mwh", counts)
    share = float(p["negative_hour_share"])
    level = _solve_level(targets, x, cal, basis)
    if share <= 0:
        return level * x
    b = 0.0
    for _ in range(30):  # b depends on the level and the level on b: a fixed point on one number
        b_new = float(np.quantile(level * x, share))
        level = _solve_level(targets + b_new, x, cal, basis)
        if abs(b_new - b) <= 1e-3 * float(np.mean(np.abs(targets))):
            break
        b = b_new
    return level * x - b_new


def synthesize_grid(profile: Profile, year_start: dt.date, n_hours: int, seed: int) -> pd.DataFrame:
    """Hourly ``price_eur_per_mwh`` [EUR/MWh] and ``carbon_g_per_kwh`` [gCO2/kWh] (stream "grid").

    Whole calendar years covering the request are synthesised so every calendar
    month's mean price and carbon intensity equal the profile's monthly targets
    (scaled to its annual means) and the share of negative hours is about the
    profile's; the first hour is local midnight of ``year_start``. ``profile``: the loaded grid data file.
    """
    p = profile  # loaded once by the caller (load_profile("grid", id)); nothing is read from a file here
    first, total, offset = full_years(year_start, n_hours)
    cal = HourlyCalendar.build(first, total)
    rng = stream(seed, "grid")
    n_days = total // 24
    basis = month_basis(cal.season_pos)
    counts = np.bincount(cal.month0, minlength=12).astype(float)

    weekend = cal.weekday >= 5
    wd = np.asarray(p["weekday_hour_shape"], float)
    we = np.asarray(p["weekend_hour_shape"], float)
    shape = np.where(weekend, float(p["weekend_level"]) * (we / we.mean())[cal.hour], (wd / wd.mean())[cal.hour])
    sd_d, sd_h = float(p["daily_log_sd"]), float(p["hourly_log_sd"])
    z_d = np.repeat(ar1(rng, n_days, float(p["daily_log_phi"])), 24)
    z_h = ar1(rng, total, float(p["hourly_log_phi"]))
    x = shape * np.exp(sd_d * z_d + sd_h * z_h - 0.5 * (sd_d**2 + sd_h**2))
    price = _price(p, cal, x, basis, counts)

    base = float(p["carbon_base_fraction"])
    pos = np.maximum(price, 0.0)
    rel = base + (1.0 - base) * pos / max(float(pos.mean()), 1e-9)
    c_targets = monthly_targets(p, "carbon_monthly_mean_g_per_kwh", "carbon_annual_mean_g_per_kwh", counts)
    carbon = np.maximum(_solve_level(c_targets, rel, cal, basis) * rel, 0.0)

    sl = slice(offset, offset + n_hours)
    return pd.DataFrame({"price_eur_per_mwh": price[sl], "carbon_g_per_kwh": carbon[sl]})
