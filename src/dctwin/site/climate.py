"""Synthetic hourly weather from monthly climate normals.

Model (all hourly, whole calendar years at a time):

    T = baseline(season) + anomaly_day(t) + diurnal(month, hour) + noise(t)

* ``baseline``: periodic piecewise-linear curve through 12 mid-month knots,
  solved so that each calendar month's mean over the synthesised years equals
  the normal exactly (the sample bias of the random parts is removed by
  construction).
* ``anomaly_day``: AR(1) daily anomalies (persistence, monthly sd and skewness
  calibrated on the Stockholm Arlanda IWEC year), interpolated between noons.
* ``diurnal``: the Arlanda mean hour-of-day shape, with a monthly size scaled
  so the mean daily range matches the normals in January and July.
* ``noise``: hourly AR(1).

Humidity: dew point = smooth daily temperature minus a dew-point depression
(monthly knots solved so monthly mean RH matches the normals, plus an AR(1)
daily anomaly); RH from the Magnus formula, wet bulb from Stull (2011).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dctwin.rng import stream
from dctwin.site.calendar import (
    HourlyCalendar,
    basis_month_means,
    full_years,
    interp_knots,
    month_basis,
)
from dctwin.site.profiles import Profile
from dctwin.site.psychro import rel_humidity_pct

__all__ = ["ar1", "synthesize_weather"]

_DLNRH_DTD = 0.07  # d ln(RH) / d(dew point) near 0 °C [1/K], from the Magnus form


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Stationary AR(1) series of length ``n`` with unit variance and lag-1 correlation ``phi``."""
    e = rng.standard_normal(n)
    x0 = e[0]
    out = _ar1_filter(e[1:], float(np.sqrt(1.0 - phi * phi)), float(phi), float(phi * x0)) if n > 1 else np.empty(0)
    return np.concatenate(([x0], out))[:n]


def _ar1_filter(e: np.ndarray, b0: float, phi: float, z0: float) -> np.ndarray:
    """y[i] = b0·e[i] + phi·y[i-1], with phi·y[-1] = ``z0``: the first-order IIR recursion.

    The recursion is sequential by nature, so it is a plain loop (about 1 ms per
    8,760 hourly values). It gives bit for bit what ``scipy.signal.lfilter([b0],
    [1, -phi], e, zi=[z0])`` gives (same operations in the same order; compared
    in docs/profiling.md), without importing ``scipy.signal``, which costs ~1 s of
    CPU, a fifth of a one-year run.
    """
    out = []
    append = out.append
    z = z0
    for x in e.tolist():
        y = b0 * x + z
        append(y)
        z = phi * y
    return np.asarray(out, dtype=np.float64)


def _skewed(x: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """Give a standard normal series a skewness of about ``skew``, keeping mean 0 and sd 1.

    Two-piece scaling: negative values are stretched by (1 + c), positive ones
    shrunk by (1 - c), with c = -skew / 2.35 (so tails stay linear in x).
    """
    c = np.clip(-np.asarray(skew, dtype=float) / 2.35, -0.4, 0.4)
    y = np.where(x < 0.0, x * (1.0 + c), x * (1.0 - c))
    mean = -2.0 * c / np.sqrt(2.0 * np.pi)
    sd = np.sqrt(1.0 + c * c - 2.0 * c * c / np.pi)
    return (y - mean) / sd


def _season_weight(month0: np.ndarray) -> np.ndarray:
    """1 in January, 0 in July, cosine in between."""
    return 0.5 * (1.0 + np.cos(2.0 * np.pi * np.asarray(month0, float) / 12.0))


def _diurnal_ptp(p: Profile) -> np.ndarray:
    """Peak-to-peak size of the mean diurnal cycle by month [K].

    The Arlanda mean daily range is scaled so January and July match the
    normals' mean daily range; the noise allowance is taken off because noise
    and day-to-day change also widen each day's max - min.
    """
    arl = np.asarray(p["daily_range_arlanda_c"], dtype=float)
    jan = p["mean_daily_range_jan_c"] / arl[0]
    jul = p["mean_daily_range_jul_c"] / arl[6]
    w = _season_weight(np.arange(12))
    target = arl * (jul + (jan - jul) * w)
    allow_jan, allow_jul = float(p["range_noise_allowance_jan_c"]), float(p["range_noise_allowance_jul_c"])
    return np.maximum(target - (allow_jul + (allow_jan - allow_jul) * w), 0.5)


def _hour_grid(total: int) -> tuple[np.ndarray, np.ndarray]:
    """(hour index, each day's noon hour) of a ``total``-hour span."""
    return np.arange(total, dtype=float), np.arange(total // 24, dtype=float) * 24.0 + 12.0


def _temperature(p: Profile, cal: HourlyCalendar, rng, basis: np.ndarray, a: np.ndarray,
                 counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hourly dry bulb, its smooth daily part) [°C]; each calendar month's mean equals the normal."""
    total = len(cal.month0)
    n_days = total // 24
    # Day-to-day anomaly, on the day grid, then interpolated between noons.
    day_basis = month_basis(cal.season_pos[12::24])
    sd_knots = np.asarray(p["daily_anomaly_sd_c"], float)
    sd_knots = sd_knots * (1.0 + (float(p["cold_season_sd_factor"]) - 1.0) * _season_weight(np.arange(12)))
    sd_day = interp_knots(sd_knots, day_basis)
    sk_day = interp_knots(np.asarray(p["daily_anomaly_skew"], float), day_basis)
    z = _skewed(ar1(rng, n_days, float(p["daily_anomaly_phi"])), sk_day)
    lim = float(p["warm_tail_limit_sd"])
    z = np.where(z > 0.0, lim * np.tanh(z / lim), z)
    hours, noon = _hour_grid(total)
    anom = np.interp(hours, noon, sd_day * z)
    ptp = interp_knots(_diurnal_ptp(p), basis)
    diurnal = ptp * np.asarray(p["diurnal_shape"], float)[cal.hour]
    noise = float(p["hourly_noise_sd_c"]) * ar1(rng, total, float(p["hourly_noise_phi"]))
    # Solve the 12 baseline knots so each calendar month's mean equals the normal.
    rest = anom + diurnal + noise
    rest_mean = np.bincount(cal.month0, weights=rest, minlength=12) / np.maximum(counts, 1)
    knots = np.linalg.solve(a, np.asarray(p["monthly_mean_c"], float) - rest_mean)
    smooth = interp_knots(knots, basis) + anom
    return smooth + diurnal + noise, smooth


def _humidity(p: Profile, cal: HourlyCalendar, rng, basis: np.ndarray, a: np.ndarray, counts: np.ndarray,
              temp: np.ndarray, smooth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dew point [°C], relative humidity [%]): the dew point follows the smooth daily temperature minus a
    depression whose 12 monthly knots are solved so each month's mean humidity equals the normal."""
    hours, noon = _hour_grid(len(temp))
    dep_day = float(p["depression_anomaly_sd_c"]) * ar1(rng, len(noon), float(p["depression_anomaly_phi"]))
    dep_anom = np.interp(hours, noon, dep_day)
    rh_target = np.asarray(p["monthly_rh_pct"], float)
    dep_knots = np.full(12, 3.0)
    for _ in range(6):  # fixed-point on 12 numbers, not per time step
        dep = np.maximum(interp_knots(dep_knots, basis) + dep_anom, 0.0)
        rh = rel_humidity_pct(temp, smooth - dep)
        rh_mean = np.bincount(cal.month0, weights=rh, minlength=12) / np.maximum(counts, 1)
        step = np.log(rh_target / np.maximum(rh_mean, 1.0)) / _DLNRH_DTD
        dep_knots = dep_knots - np.linalg.solve(a, step)
    dep = np.maximum(interp_knots(dep_knots, basis) + dep_anom, 0.0)
    dew = np.minimum(smooth - dep, temp)
    return dew, np.clip(rel_humidity_pct(temp, dew), 1.0, 100.0)


def synthesize_weather(normals: Profile, year_start: dt.date, n_hours: int, seed: int) -> pd.DataFrame:
    """Hourly synthetic weather from climate normals.

    Parameters: ``normals`` the loaded values of a climate data file (``load_profile("climate", id)``, read
    once by the caller: nothing is read from a file here);
    ``year_start`` local date of the first hour; ``n_hours`` length; ``seed``
    root seed (stream "weather").

    Returns ``n_hours`` rows: ``dry_bulb_c`` [°C], ``rel_humidity_pct`` [%],
    ``dew_point_c`` [°C] (the wet bulb depends on the site's pressure:
    ``site_series`` adds it). Whole calendar years are
    synthesised and then cut, so the months of the covered years average to
    the normals and a run's first week equals that of a longer run.
    """
    p = normals
    first, total, offset = full_years(year_start, n_hours)
    cal = HourlyCalendar.build(first, total)
    rng = stream(seed, "weather")
    basis = month_basis(cal.season_pos)
    a = basis_month_means(cal.month0, basis)
    counts = np.bincount(cal.month0, minlength=12)
    temp, smooth = _temperature(p, cal, rng, basis, a, counts)
    dew, rh = _humidity(p, cal, rng, basis, a, counts, temp, smooth)
    sl = slice(offset, offset + n_hours)
    t, r, d = temp[sl], rh[sl], dew[sl]
    return pd.DataFrame(
        {
            "dry_bulb_c": t,
            "rel_humidity_pct": r,
            "dew_point_c": d,
        }
    )
