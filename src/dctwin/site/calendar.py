"""Hourly calendars and the mapping of hourly series onto a run's time steps.

All times are naive local standard time, as in ``dctwin.timeline``. An hourly
value at index ``i`` covers ``[i h, i+1 h)`` from the series origin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

__all__ = ["HourlyCalendar", "full_years", "month_basis", "to_steps", "typical_year_index"]

_CUM_DAYS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])


@dataclass(frozen=True)
class HourlyCalendar:
    """Calendar fields of ``n`` consecutive hours from local midnight of ``origin``."""

    origin: dt.date
    month0: np.ndarray  # 0..11
    day0: np.ndarray  # 0-based day of month
    hour: np.ndarray  # 0..23
    days_in_month: np.ndarray
    weekday: np.ndarray  # 0 = Monday
    year: np.ndarray

    @classmethod
    def build(cls, origin: dt.date, n_hours: int) -> HourlyCalendar:
        t = np.datetime64(origin, "h") + np.arange(n_hours)
        months = t.astype("datetime64[M]")
        days = t.astype("datetime64[D]")
        mstart = months.astype("datetime64[D]")
        return cls(
            origin=origin,
            month0=(months.astype(np.int64) % 12).astype(np.int64),
            day0=(days - mstart).astype(np.int64),
            hour=(t - days.astype("datetime64[h]")).astype(np.int64),
            days_in_month=((months + 1).astype("datetime64[D]") - mstart).astype(np.int64),
            weekday=((days.astype(np.int64) + 3) % 7),  # 1970-01-01 was a Thursday
            year=months.astype("datetime64[Y]").astype(np.int64) + 1970,
        )

    @property
    def n(self) -> int:
        return int(self.hour.size)

    @property
    def season_pos(self) -> np.ndarray:
        """Position in the year in months, 0 at mid-January, 11 at mid-December (periodic, [-0.5, 11.5))."""
        return self.month0 + (self.day0 + (self.hour + 0.5) / 24.0) / self.days_in_month - 0.5


def full_years(start: dt.date, n_hours: int) -> tuple[dt.date, int, int]:
    """Whole calendar years covering ``n_hours`` from ``start``: (Jan 1 of first year, hours, offset of start)."""
    first = dt.date(start.year, 1, 1)
    last_hour = dt.datetime(start.year, start.month, start.day) + dt.timedelta(hours=max(n_hours, 1) - 1)
    end = dt.date(last_hour.year + 1, 1, 1)
    total = (end - first).days * 24
    offset = (start - first).days * 24
    return first, total, offset


def month_basis(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Periodic hat functions centred on mid-months: knot indices (j0, j1) and weight of j1."""
    f = np.floor(pos)
    w = pos - f
    j0 = f.astype(np.int64) % 12
    return j0, (j0 + 1) % 12, w


def interp_knots(knots: np.ndarray, basis: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Evaluate the periodic piecewise-linear curve through 12 mid-month knots."""
    j0, j1, w = basis
    return (1.0 - w) * knots[j0] + w * knots[j1]


def basis_month_means(
    month0: np.ndarray, basis: tuple[np.ndarray, np.ndarray, np.ndarray], weights: np.ndarray | None = None
) -> np.ndarray:
    """12x12 matrix A with A[m, j] = mean over the hours of calendar month m of hat function j (times ``weights``).

    With ``weights`` x, ``A @ knots`` is the monthly mean of ``interp_knots(knots) * x``,
    so solving ``A k = targets`` makes a curve times x hit monthly targets exactly.
    """
    j0, j1, w = basis
    x = np.ones(j0.size) if weights is None else np.asarray(weights, dtype=float)
    a = np.zeros((12, 12))
    np.add.at(a, (month0, j0), (1.0 - w) * x)
    np.add.at(a, (month0, j1), w * x)
    counts = np.bincount(month0, minlength=12).astype(float)
    present = counts > 0
    a[present] /= counts[present, None]
    a[~present] = np.eye(12)[~present]
    return a


def typical_year_index(cal: HourlyCalendar) -> np.ndarray:
    """Row (0..8759) of a typical (non-leap) year for each hour, by month/day/hour; 29 Feb repeats 28 Feb."""
    day0 = np.where((cal.month0 == 1) & (cal.day0 == 28), 27, cal.day0)
    return (_CUM_DAYS[cal.month0] + day0) * 24 + cal.hour


def to_steps(hourly: np.ndarray, start_hour: float, step_s: int, n_steps: int, *, hold: bool) -> np.ndarray:
    """Values at each step of a timeline from an hourly series [same unit].

    ``start_hour`` is the timeline start in hours from the series origin. Steps
    of an hour or longer get the mean over the step (hourly values constant
    within their hour); shorter steps get the linear interpolation between hour
    centres (``hold=False``, weather) or the value of the hour they fall in
    (``hold=True``, market prices).
    """
    x = np.asarray(hourly, dtype=float)
    k, rem = divmod(step_s, 3600)
    i0 = round(start_hour)
    if rem == 0 and abs(start_hour - i0) < 1e-12 and i0 + n_steps * k <= x.size:
        block = x[i0 : i0 + n_steps * k]
        return block.copy() if k == 1 else block.reshape(n_steps, k).mean(axis=1)
    t0_h = start_hour + np.arange(n_steps, dtype=np.float64) * (step_s / 3600.0)
    if step_s >= 3600:
        cum = np.concatenate(([0.0], np.cumsum(x)))
        edges = np.arange(cum.size, dtype=np.float64)
        t1_h = t0_h + step_s / 3600.0
        return (np.interp(t1_h, edges, cum) - np.interp(t0_h, edges, cum)) / (step_s / 3600.0)
    if hold:
        return x[np.minimum(np.floor(t0_h + 1e-9).astype(np.int64), x.size - 1)]
    centres = np.arange(x.size, dtype=np.float64) + 0.5
    return np.interp(t0_h, centres, x)
