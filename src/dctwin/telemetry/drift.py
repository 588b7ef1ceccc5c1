"""Drift: periods where measured power departs from the calibrated model.

For each compared quantity the relative deviation is the rolling sum of residuals
(measured minus predicted) over ``window_h`` hours divided by the rolling sum of
the measured values. A period is flagged where that deviation stays beyond
``threshold_pct`` for at least ``min_hours`` (fouled dry coolers draw more fan
power than the calibrated model; a failing pump draws less or more). Windows in which
a meter reads less than a tenth of its own mean (fans idle in winter) are not judged:
a relative deviation of almost nothing means nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["drift_periods", "rolling_deviation_pct"]

MIN_WINDOW_SHARE = 0.1  # windows whose measured mean is below 10 % of the series' mean are not judged


def rolling_deviation_pct(measured: np.ndarray, predicted: np.ndarray, window_steps: int) -> np.ndarray:
    """Rolling (trailing) relative deviation [%]; NaN where the window has missing data."""
    m, p = np.asarray(measured, float), np.asarray(predicted, float)
    bad = ~(np.isfinite(m) & np.isfinite(p))
    r = np.where(bad, 0.0, m - p)
    mm = np.where(bad, 0.0, m)

    def roll(a):
        c = np.concatenate([[0.0], np.cumsum(a)])
        out = np.full(len(a), np.nan)
        out[window_steps - 1:] = c[window_steps:] - c[:-window_steps]
        return out

    nbad = roll(bad.astype(float))
    window_m = roll(mm)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = roll(r) / window_m * 100.0
    # a window where the meter reads almost nothing (fans idle in winter) says nothing relative
    idle = window_m < MIN_WINDOW_SHARE * np.nanmean(np.where(bad, np.nan, m)) * window_steps
    dev[(nbad > 0) | ~np.isfinite(dev) | idle] = np.nan
    return dev


def drift_periods(table: pd.DataFrame, quantities: list[str], step_s: int, *, window_h: float = 24.0,
                  threshold_pct: float = 5.0, min_hours: float = 24.0) -> pd.DataFrame:
    """Flagged periods: quantity, start, end (UTC), hours, mean and largest deviation [%]."""
    window = max(int(round(window_h * 3600 / step_s)), 1)
    min_steps = max(int(round(min_hours * 3600 / step_s)), 1)
    rows = []
    for q in quantities:
        dev = rolling_deviation_pct(table[f"measured_{q}"], table[f"predicted_{q}"], window)
        over = np.nan_to_num(np.abs(dev), nan=0.0) > threshold_pct
        edges = np.diff(np.concatenate([[0], over.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            if b - a < min_steps:
                continue
            seg = dev[a:b]
            rows.append({"quantity": q, "start": table["time"].iloc[max(a - window + 1, 0)],
                         "end": table["time"].iloc[b - 1] + pd.Timedelta(seconds=step_s),
                         "hours": (b - a + window - 1) * step_s / 3600.0,
                         "mean_deviation_pct": float(np.mean(seg)),
                         "max_deviation_pct": float(seg[np.argmax(np.abs(seg))])})
    cols = ["quantity", "start", "end", "hours", "mean_deviation_pct", "max_deviation_pct"]
    return pd.DataFrame(rows, columns=cols)
