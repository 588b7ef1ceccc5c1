"""The tables stage of a run: the time series every later stage reads, then the KPIs and monthly table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.cluster.stage import PoolRun
from dctwin.facility.result import FacilityResult
from dctwin.operation.run_plan import RunPlan
from dctwin.timeline import Timeline
from dctwin.workload.stage import InferenceDemand

__all__ = ["CLUSTER_COLUMNS", "DISAGGREGATED_KINDS", "clean_kpis", "combine_pool_stats", "job_kpis", "monthly_table",
           "site_timeseries"]

CLUSTER_COLUMNS = ("gpus_online", "gpus_busy_training", "gpus_busy_inference", "gpus_down", "gpus_idle",
                   "gpus_inference_shortfall", "interruptions")
#: per-service columns of a disaggregated service only (``cluster.inference.served_tokens``)
DISAGGREGATED_KINDS = ("prefill_gpus_busy", "decode_gpus_busy", "gpus_idle_held", "kv_link_gpus_sending",
                       "it_power_kw")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _summed(frames: list[pd.DataFrame], start) -> dict[str, np.ndarray]:
    """Column sums over the pools' frames from ``start`` (pool order kept: the same bits every run)."""
    out: dict[str, np.ndarray] = {}
    for frame in frames:
        for col in frame.columns:
            out[col] = out.get(col, start) + frame[col].to_numpy()
    return out


def site_timeseries(timeline: Timeline, site: pd.DataFrame, pools: list[PoolRun], cooling_kw: np.ndarray,
                    withheld_gpus: np.ndarray, facility: FacilityResult, demand: InferenceDemand,
                    op: RunPlan) -> pd.DataFrame:
    """One row per step: site series, cluster sums, facility flows, PUE, inference demand and service,
    operation plan. Built as one dict of columns, then one frame (inserting ~100 columns one by one costs
    more than the rest of a cached re-run)."""
    n = timeline.n_steps
    cols: dict[str, object] = {"t_s": timeline.t_s, "timestamp": timeline.timestamps}
    cols.update({c: site[c] for c in site.columns})
    sums = _summed([p.series for p in pools], 0)  # integer counts stay integers
    cols.update({c: sums[c] for c in CLUSTER_COLUMNS if c in sums})
    cols["utilisation"] = _ratio(cols["gpus_busy_training"] + cols["gpus_busy_inference"],
                                 np.asarray(cols["gpus_online"]).astype(float))
    cols["cooling_capacity_kw"] = np.where(np.isfinite(cooling_kw), cooling_kw, np.nan)  # NaN: no liquid limit
    cols["cooling_withheld_gpus"] = withheld_gpus
    cols.update(facility.to_dict())
    it = cols["it_power_kw"]
    cols["pue"] = np.divide(cols["grid_power_kw"] - cols.get("heat_pump_kw", 0.0), it, out=np.full(n, np.nan),
                            where=it > 0)
    served = _summed([p.served for p in pools], np.zeros(n))
    for name in demand.services.index:
        for kind in ("requests_per_s", "input_tokens_per_s", "output_tokens_per_s"):
            cols[f"{name}__{kind}"] = demand.demand[f"{name}__{kind}"].to_numpy()
        for kind in ("output_tokens_served_per_s", "input_tokens_served_per_s", "capacity_output_tokens_per_s",
                     "gpus_busy"):
            cols[f"{name}__{kind}"] = served.get(f"{name}__{kind}", np.zeros(n))
        for kind in DISAGGREGATED_KINDS:  # only services with separate prefill and decode pools have them
            if f"{name}__{kind}" in served:
                cols[f"{name}__{kind}"] = served[f"{name}__{kind}"]
    for col, values in op.to_frame().items():
        cols[f"op_{col}" if col in cols else col] = values.to_numpy()
    return pd.DataFrame({c: v.to_numpy() if isinstance(v, pd.Series) else v for c, v in cols.items()})


def combine_pool_stats(pool_stats: list[dict[str, float]]) -> dict[str, float]:
    """Cluster stats of the whole site: counts and GPU-seconds add up; fractions and means are
    weighted by each pool's allocated GPU-seconds."""
    if len(pool_stats) == 1:
        return dict(pool_stats[0])
    weights = np.array([st.get("allocated_gpu_s", 0.0) for st in pool_stats])
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(pool_stats), 1 / len(pool_stats))
    out: dict[str, float] = {}
    for key in dict.fromkeys(k for st in pool_stats for k in st):
        values = np.array([st.get(key, 0.0) for st in pool_stats])
        averaged = key.endswith("_frac") or key.startswith("mean_")
        out[key] = float(values @ weights) if averaged else float(values.sum())
    return out


def job_kpis(jobs: pd.DataFrame) -> dict[str, float]:
    """Counts of jobs by final state and queue-wait percentiles [s]."""
    state = jobs["state"].astype(str)
    counts = state.value_counts()
    out: dict[str, float] = {"jobs_submitted": float(len(jobs))}
    for s in ("completed", "failed", "cancelled", "running_at_end", "never_started"):
        out[f"jobs_{s}"] = float(counts.get(s, 0))
    work = jobs["gpus"].to_numpy(dtype=float) * jobs["duration_s"].to_numpy(dtype=float)
    if work.sum() > 0:  # shown beside goodput, which counts only GPU time that was allocated
        out["completed_work_frac"] = float(work[(state == "completed").to_numpy()].sum() / work.sum())
    started = jobs["wait_s"].notna() if "wait_s" in jobs else pd.Series(False, index=jobs.index)
    if started.any():
        waits = jobs.loc[started, "wait_s"].to_numpy(dtype=float)
        out["queue_wait_p50_s"] = float(np.percentile(waits, 50))
        out["queue_wait_p90_s"] = float(np.percentile(waits, 90))
    if "fragmentation_wait_s" in jobs:  # written under a gang rule (scheduler.gang_rule)
        total = float(jobs["wait_s"].sum())
        out["fragmentation_wait_frac"] = float(jobs["fragmentation_wait_s"].sum()) / total if total > 0 else 0.0
    return out


def monthly_table(facility_monthly: pd.DataFrame, accounts_monthly: pd.DataFrame,
                  series: pd.DataFrame) -> pd.DataFrame:
    """Facility and accounting KPIs by calendar month, with the mean utilisation. A quantity both report
    (grid energy, heat delivered) comes from the facility alone: one source per KPI."""
    monthly = facility_monthly.rename_axis("month_start").reset_index()
    monthly["month"] = monthly["month_start"].dt.strftime("%Y-%m")
    acc_monthly = accounts_monthly.drop(columns=[c for c in accounts_monthly.columns
                                                 if c != "month" and c in monthly.columns])
    acc_monthly["month"] = acc_monthly["month"].astype(str).str.slice(0, 7)
    monthly = monthly.merge(acc_monthly, on="month", how="left", validate="one_to_one")
    ts = series["timestamp"].dt
    util_m = series.groupby((ts.year * 100 + ts.month).to_numpy())["utilisation"].mean()  # key: YYYYMM
    key = monthly["month_start"].dt.year * 100 + monthly["month_start"].dt.month
    monthly["mean_utilisation"] = key.map(util_m).to_numpy()
    return monthly


def clean_kpis(kpis: dict[str, object]) -> dict[str, object]:
    """JSON-safe KPIs: numpy scalars to Python, NaN/inf to None."""
    out: dict[str, object] = {}
    for k, v in kpis.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out
