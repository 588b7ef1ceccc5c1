"""Synthetic hourly day-ahead price and grid carbon intensity for a bidding zone.

Model, per whole calendar years (``dctwin.site.calendar.full_years``):

    raw = month_level(season) * hour_shape(hour, day type) * exp(sd_d z_d + sd_h z_h - var/2)
    price = a * raw - b

``z_d`` is a daily AR(1) (weather regimes), ``z_h`` an hourly AR(1); the
lognormal factor gives the heavy right tail. ``b`` shifts the lowest
``negative_hour_share`` of hours below zero and ``a`` sets the annual mean,
both computed on the synthesised years, so targets are met by construction.
Carbon intensity = target * (base + (1 - base) * max(price, 0) / mean(max(price, 0))),
so it is correlated with price by construction.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dctwin.rng import stream
from dctwin.site.calendar import HourlyCalendar, full_years, interp_knots, month_basis
from dctwin.site.climate import ar1
from dctwin.site.profiles import Profile, load_profile

__all__ = ["monthly_price_shape", "synthesize_grid"]


def monthly_price_shape(profile: Profile) -> np.ndarray:
    """Relative monthly price level (mean 1) from the profile's monthly history."""
    hist = np.array([np.asarray(v, float) / np.mean(v) for v in profile["monthly_history"].values()])
    shape = hist.mean(axis=0)
    return shape / shape.mean()


def synthesize_grid(profile: str | Profile, year_start: dt.date, n_hours: int, seed: int) -> pd.DataFrame:
    """Hourly ``price_eur_per_mwh`` [EUR/MWh] and ``carbon_g_per_kwh`` [gCO2/kWh] (stream "grid").

    Whole calendar years covering the request are synthesised and scaled so
    their mean price and share of negative hours equal the profile targets;
    the first hour is local midnight of ``year_start``.
    """
    p = load_profile("grid", profile) if isinstance(profile, str) else profile
    first, total, offset = full_years(year_start, n_hours)
    cal = HourlyCalendar.build(first, total)
    rng = stream(seed, "grid")
    n_days = total // 24

    level = interp_knots(monthly_price_shape(p), month_basis(cal.season_pos))
    weekend = cal.weekday >= 5
    wd = np.asarray(p["weekday_hour_shape"], float)
    we = np.asarray(p["weekend_hour_shape"], float)
    shape = np.where(weekend, float(p["weekend_level"]) * (we / we.mean())[cal.hour], (wd / wd.mean())[cal.hour])

    sd_d, sd_h = float(p["daily_log_sd"]), float(p["hourly_log_sd"])
    z_d = np.repeat(ar1(rng, n_days, float(p["daily_log_phi"])), 24)
    z_h = ar1(rng, total, float(p["hourly_log_phi"]))
    raw = level * shape * np.exp(sd_d * z_d + sd_h * z_h - 0.5 * (sd_d**2 + sd_h**2))

    share = float(p["negative_hour_share"])
    q = float(np.quantile(raw, share)) if share > 0 else 0.0
    a = float(p["annual_mean_eur_per_mwh"]) / (raw.mean() - q)
    price = a * (raw - q)

    base = float(p["carbon_base_fraction"])
    pos = np.maximum(price, 0.0)
    carbon = float(p["carbon_annual_mean_g_per_kwh"]) * (base + (1.0 - base) * pos / pos.mean())

    sl = slice(offset, offset + n_hours)
    return pd.DataFrame({"price_eur_per_mwh": price[sl], "carbon_g_per_kwh": carbon[sl]})
