"""A sweep's tables: every run's KPIs, P10/P50/P90 per design point, and sensitivity."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["runs_table", "percentiles", "sensitivity", "HEADLINE_KPIS"]

HEADLINE_KPIS = ("pue", "erf", "wue_l_per_kwh", "grid_energy_mwh", "heat_delivered_mwh", "mean_utilisation",
                 "goodput_frac", "tco_eur", "eur_per_gpu_hour_used", "emissions_market_t")


def runs_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished run: ids, seed, ``axis:<name>`` columns and every numeric KPI, sorted by run id.

    No wall-clock time (it stays in each run's record under done/): the same sweep gives the same bytes."""
    records = []
    for row in rows:
        rec = {"run_id": row["run_id"], "point_id": row["point_id"], "repetition": row["repetition"],
               "seed": row["seed"]}
        # a mapping or list value (an axis over layouts) as its canonical JSON: a table cell that groups and sorts
        rec.update({f"axis:{k}": json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v
                    for k, v in row["axes"].items()})
        rec.update({k: v for k, v in row["kpis"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    return frame.sort_values("run_id", kind="stable").reset_index(drop=True) if len(frame) else frame


def _kpi_columns(frame: pd.DataFrame) -> list[str]:
    skip = {"run_id", "point_id", "repetition", "seed", "wall_s"}
    return [c for c in frame.columns if c not in skip and not c.startswith("axis:")
            and pd.api.types.is_numeric_dtype(frame[c])]


def percentiles(frame: pd.DataFrame) -> pd.DataFrame:
    """P10/P50/P90 (and mean, runs) of every KPI per design point; long format."""
    if frame.empty:
        return pd.DataFrame(columns=["point_id", "kpi", "runs", "mean", "p10", "p50", "p90"])
    axes = [c for c in frame.columns if c.startswith("axis:")]
    out = []
    for point_id, group in frame.groupby("point_id", sort=True):
        fixed = {a: group[a].iloc[0] for a in axes}
        for kpi in _kpi_columns(frame):
            values = group[kpi].dropna().to_numpy(dtype=float)
            if values.size == 0:
                continue
            p10, p50, p90 = np.percentile(values, [10, 50, 90])
            out.append({"point_id": point_id, **fixed, "kpi": kpi, "runs": int(values.size),
                        "mean": float(values.mean()), "p10": float(p10), "p50": float(p50), "p90": float(p90)})
    return pd.DataFrame.from_records(out)


def sensitivity(frame: pd.DataFrame, kpis: tuple[str, ...] = HEADLINE_KPIS) -> pd.DataFrame:
    """How far each axis moves each KPI: the spread of the KPI's mean across the axis's values.

    Also a ``seed`` row: the P10-P90 spread across repetitions (the Monte Carlo noise), for scale.
    Sorted by spread, largest first within each KPI (the order of a tornado chart).
    """
    axes = [c for c in frame.columns if c.startswith("axis:")]
    rows = []
    for kpi in (k for k in kpis if k in frame.columns):
        for axis in axes:
            means = frame.groupby(axis, sort=True)[kpi].mean()
            if len(means) < 2:
                continue
            rows.append({"kpi": kpi, "driver": axis.removeprefix("axis:"), "low": float(means.min()),
                         "high": float(means.max()), "spread": float(means.max() - means.min()),
                         "at_low": str(means.idxmin()), "at_high": str(means.idxmax())})
        if frame["repetition"].nunique() > 1:
            by_point = frame.groupby("point_id")[kpi]
            lo = float(by_point.quantile(0.1).mean())
            hi = float(by_point.quantile(0.9).mean())
            rows.append({"kpi": kpi, "driver": "seed (P10-P90)", "low": lo, "high": hi, "spread": hi - lo,
                         "at_low": "", "at_high": ""})
    table = pd.DataFrame.from_records(rows, columns=["kpi", "driver", "low", "high", "spread", "at_low", "at_high"])
    return table.sort_values(["kpi", "spread"], ascending=[True, False], kind="stable").reset_index(drop=True)
