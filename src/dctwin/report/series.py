"""Shared reductions of a run's tables for figures: energies, resampling, peak week."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.report.data import Missing, RunData

__all__ = [
    "INSIDE_IT",
    "cooling_columns",
    "energy_mwh",
    "loss_columns",
    "peak_week",
    "periods",
    "resample",
    "services",
    "slowdown",
    "step_h",
]

COOLING_COLUMNS = ("cdu_pump_kw", "facility_pump_kw", "dry_cooler_fan_kw", "adiabatic_kw", "chiller_kw",
                   "crah_fan_kw")
CHILLER_PARTS = ("liquid_chiller_kw", "air_chiller_kw")   # used only when there is no total ``chiller_kw``
INSIDE_IT = ("power_shelf_loss_kw",)                      # losses already counted in ``it_power_kw``


def step_h(run: RunData) -> float:
    """Length of one time step [h], from the manifest or the ``t_s`` column."""
    step_s = run.manifest.get("step_s")
    if isinstance(step_s, (int, float)) and step_s > 0:
        return float(step_s) / 3600.0
    t = run.table("timeseries", ("t_s",))["t_s"].to_numpy(dtype=np.float64)
    if len(t) < 2:
        raise Missing("timeseries has fewer than two steps")
    return float(np.median(np.diff(t))) / 3600.0


def energy_mwh(run: RunData, column: str) -> float:
    """Energy over the run of one power column [kW] -> [MWh]."""
    ts = run.table("timeseries", (column,))
    return float(ts[column].to_numpy(dtype=np.float64).sum() * step_h(run) / 1000.0)


def loss_columns(run: RunData) -> list[str]:
    ts = run.tables.get("timeseries")
    return [] if ts is None else [c for c in ts.columns if c.endswith("_loss_kw")]


def cooling_columns(run: RunData) -> list[str]:
    ts = run.tables.get("timeseries")
    if ts is None:
        return []
    cols = [c for c in COOLING_COLUMNS if c in ts.columns]
    if "chiller_kw" not in ts.columns:
        cols += [c for c in CHILLER_PARTS if c in ts.columns]
    return cols


def _time_index(ts: pd.DataFrame) -> pd.DatetimeIndex:
    if "timestamp" in ts.columns:
        return pd.DatetimeIndex(pd.to_datetime(ts["timestamp"], utc=True))
    if "t_s" in ts.columns:
        return pd.DatetimeIndex(pd.Timestamp("2000-01-01", tz="UTC") + pd.to_timedelta(ts["t_s"], unit="s"))
    raise Missing("timeseries has neither 'timestamp' nor 't_s'")


def resample(run: RunData, columns: tuple[str, ...], rule: str = "1h") -> pd.DataFrame:
    """Mean of ``columns`` per ``rule`` period, indexed by time (no finer than the run's step), to 6 decimals."""
    ts = run.table("timeseries", columns)
    frame = pd.DataFrame({c: ts[c].to_numpy(dtype=np.float64) for c in columns}, index=_time_index(ts))
    if step_h(run) < pd.Timedelta(rule) / pd.Timedelta("1h"):
        frame = frame.resample(rule).mean().dropna(how="all")
    # Rounding drops float noise (1e-16 wiggles make plotly pick absurd tick steps) and shrinks the JSON.
    return frame.round(6)


def services(run: RunData) -> list[str]:
    """Inference services that have a demand column in the timeseries."""
    ts = run.tables.get("timeseries")
    if ts is None:
        return []
    return sorted(c.removesuffix("__output_tokens_per_s") for c in ts.columns if c.endswith("__output_tokens_per_s")
                  and not c.endswith("_served_per_s"))


def peak_week(run: RunData, column_sum: np.ndarray) -> slice:
    """Rows of the 7-day window (or the whole run if shorter) with the highest total of ``column_sum``."""
    h = step_h(run)
    width = max(1, round(7 * 24 / h))
    n = len(column_sum)
    if n <= width:
        return slice(0, n)
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(column_sum))])
    totals = c[width:] - c[:-width]
    start = int(np.argmax(totals))
    return slice(start, start + width)


def slowdown(jobs: pd.DataFrame) -> np.ndarray:
    """Bounded slowdown (wait + run) / max(run, 10 s) per job [-]."""
    run_s = jobs["duration_s"].to_numpy(dtype=np.float64)
    wait_s = jobs["wait_s"].to_numpy(dtype=np.float64)
    return (wait_s + run_s) / np.maximum(run_s, 10.0)


SHORT_RUN_DAYS = 60   # below this, "monthly" figures are drawn per day


def periods(run: RunData) -> tuple[pd.DataFrame, str]:
    """IT energy and heat delivered [MWh] and PUE per month, or per day for runs under 60 days.

    Returns the frame (index: period labels as text, so the axis is categorical and never invents
    sub-second ticks) and the period name, ``"month"`` or ``"day"``.
    """
    ts = run.tables.get("timeseries")
    span_days = len(ts) * step_h(run) / 24.0 if ts is not None and len(ts) else None
    if span_days is not None and span_days < SHORT_RUN_DAYS and "it_power_kw" in ts.columns:
        cols = [c for c in ("it_power_kw", "heat_delivered_kw", "grid_power_kw", "heat_pump_kw") if c in ts.columns]
        frame = pd.DataFrame({c: ts[c].to_numpy(dtype=np.float64) for c in cols}, index=_time_index(ts))
        daily = frame.resample("1D").sum() * step_h(run) / 1000.0
        out = pd.DataFrame({"it_energy_mwh": daily["it_power_kw"]})
        if "heat_delivered_kw" in daily:
            out["heat_delivered_mwh"] = daily["heat_delivered_kw"]
        if "grid_power_kw" in daily:
            grid = daily["grid_power_kw"] - (daily["heat_pump_kw"] if "heat_pump_kw" in daily else 0.0)
            out["pue"] = (grid / daily["it_power_kw"]).where(daily["it_power_kw"] > 0)
        out.index = [d.strftime("%Y-%m-%d") for d in daily.index]
        return out.round(6), "day"
    m = run.table("monthly", ("month",))
    months = m["month"]
    if pd.api.types.is_datetime64_any_dtype(months):
        labels = pd.to_datetime(months).dt.strftime("%Y-%m")
    elif "month_start" in m.columns and pd.api.types.is_integer_dtype(months):
        labels = pd.to_datetime(m["month_start"]).dt.strftime("%Y-%m")
    else:
        labels = months.astype(str)
    cols = [c for c in ("it_energy_mwh", "heat_delivered_mwh", "pue") if c in m.columns]
    out = m[cols].copy()
    out.index = list(labels)
    return out, "month"
