"""The stages of one run, wired together; ``dctwin.orchestrator.simulate`` is the public entry.

site series -> operation plan -> workload -> cluster (one per platform pool)
-> IT power -> facility -> accounting. Each stage reads only what the earlier
ones produced, so the pipeline runs one way.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd

from dctwin.buildout import Pool
from dctwin.config import Scenario
from dctwin.timeline import Timeline

__all__ = ["run_pipeline", "shift_deferrable"]

TARGET_REPLICA_UTILISATION = 0.8  # inference replicas sized for 80% load; see dctwin.cluster.inference


def _pool_seed(seed: int, index: int, pool: Pool) -> int:
    """The first pool uses the scenario seed; later pools derive their own."""
    return seed if index == 0 else (seed ^ zlib.crc32(pool.platform.id.encode())) % (2**63)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def shift_deferrable(jobs: pd.DataFrame, defer_ok: np.ndarray, step_s: int) -> pd.DataFrame:
    """Move each deferrable job's submission to the next step where deferrable work may start."""
    if defer_ok.all() or not jobs["deferrable"].any():
        return jobs
    n = len(defer_ok)
    ok_steps = np.flatnonzero(defer_ok)
    if ok_steps.size == 0:
        return jobs
    submit = jobs["submit_s"].to_numpy(dtype=np.float64).copy()
    step = np.minimum((submit // step_s).astype(np.int64), n - 1)
    movable = jobs["deferrable"].to_numpy(dtype=bool) & ~defer_ok[step]
    nxt = np.searchsorted(ok_steps, step[movable])
    has_slot = nxt < ok_steps.size
    idx = np.flatnonzero(movable)[has_slot]
    submit[idx] = ok_steps[nxt[has_slot]] * float(step_s)
    order = np.argsort(submit, kind="stable")
    out = jobs.iloc[order].reset_index(drop=True)
    out["submit_s"] = submit[order]
    return out


def run_pipeline(
    scenario: Scenario, timeline: Timeline, pools: list[Pool], stage: Callable[[str], None]
) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """Run every stage; return the run's tables and its flat KPIs."""
    from dctwin.accounting import account
    from dctwin.cluster import simulate_cluster
    from dctwin.cluster.inference import inference_gpus_needed
    from dctwin.facility import cooling_capacity_kw, facility_kpis, it_power_kw, monthly_kpis, simulate_facility
    from dctwin.operation import plan_operation
    from dctwin.site import site_series
    from dctwin.workload import generate_jobs, inference_demand, services
    from dctwin.workload.schema import empty_jobs

    seed = scenario.simulation.seed
    n, step_s = timeline.n_steps, timeline.step_s
    design = scenario.facility

    stage("site")
    site = site_series(scenario.site, timeline, seed).reset_index(drop=True)
    op = plan_operation(scenario, timeline, site, pools)

    stage("workload")
    demand = inference_demand(scenario.workload, timeline, seed).reset_index(drop=True)
    svc = services(scenario.workload)
    gpus_total = sum(p.gpus_online for p in pools).astype(np.float64)
    installed_kw = sum(p.max_it_kw for p in pools)
    liquid_installed = sum(p.max_it_kw * p.platform.liquid_cooled_fraction for p in pools) / installed_kw
    capacity_kw = cooling_capacity_kw(design, site["dry_bulb_c"].to_numpy(), site["wet_bulb_c"].to_numpy(),
                                      installed_kw, liquid_fraction=liquid_installed)
    throttle = design.cooling.overload_rule == "throttle"
    replay = scenario.workload.jobs_path is not None

    stage("cluster")
    cols: dict[str, np.ndarray] = {}
    it_kw = np.zeros(n)
    liquid_kw = np.zeros(n)
    job_tables, failure_tables = [], []
    pool_stats: list[dict[str, float]] = []
    served_out = {s: np.zeros(n) for s in svc.index}
    served_in = {s: np.zeros(n) for s in svc.index}
    capacity_out = {s: np.zeros(n) for s in svc.index}
    gpus_busy_svc = {s: np.zeros(n) for s in svc.index}
    cooling_withheld_gpus = np.zeros(n)
    for i, pool in enumerate(pools):
        platform = pool.platform
        share = _ratio(pool.gpus_online.astype(np.float64), gpus_total)
        pool_demand = demand.mul(share, axis=0)
        need = inference_gpus_needed(pool_demand, svc, platform, target_utilisation=TARGET_REPLICA_UTILISATION)
        gpu_cap = op.gpu_cap(pool)
        if throttle:  # the scheduler keeps busy GPUs within what heat rejection can hold this hour
            per_gpu_kw = float(it_power_kw(platform, np.array([1]), np.array([1.0]), 1.0)[0]) / platform.gpus_per_unit
            cooling_gpus = np.floor(np.minimum(capacity_kw * share / per_gpu_kw, pool.gpus_online)).astype(np.int64)
            withheld = np.maximum(0, pool.gpus_online - cooling_gpus)
            cooling_withheld_gpus += withheld
            gpu_cap = cooling_gpus if gpu_cap is None else np.minimum(gpu_cap, cooling_gpus)
        pool_seed = _pool_seed(seed, i, pool)
        if replay and i > 0:  # a replayed job trace runs on the first pool only
            jobs = empty_jobs()
        else:
            jobs = generate_jobs(scenario.workload, timeline, int(pool.gpus_online.max()), platform, pool_seed)
        throughput = op.throughput_factor(pool)
        if np.any(throughput < 1):  # a power-capped GPU does its work more slowly
            jobs = jobs.assign(duration_s=jobs["duration_s"] / float(np.mean(throughput)))
        jobs = shift_deferrable(jobs, np.asarray(op.defer_ok, dtype=bool), step_s)
        result = simulate_cluster(scenario.scheduler, timeline, pool.gpus_online, platform, jobs,
                                  need["gpus_needed"].to_numpy(), pool_seed, gpu_cap=gpu_cap)
        cut = op.gpu_cut(pool)
        if cut.any():  # demand response: shed below this run's own baseline, then run again under that cap
            baseline = (result.series["gpus_busy_training"] + result.series["gpus_busy_inference"]).to_numpy()
            capped = np.where(cut > 0, np.floor(np.maximum(baseline - cut, 0)), pool.gpus_online).astype(np.int64)
            gpu_cap = capped if gpu_cap is None else np.minimum(gpu_cap, capped)
            result = simulate_cluster(scenario.scheduler, timeline, pool.gpus_online, platform, jobs,
                                      need["gpus_needed"].to_numpy(), pool_seed, gpu_cap=gpu_cap)
        s = result.series
        busy = s["gpus_busy_training"].to_numpy() + s["gpus_busy_inference"].to_numpy()
        util = np.clip(_ratio(busy, pool.gpus_online.astype(np.float64)), 0.0, 1.0)  # float sums may overshoot
        pool_kw = it_power_kw(platform, pool.units_online, util, op.power_cap_frac)
        it_kw += pool_kw
        liquid_kw += pool_kw * platform.liquid_cooled_fraction
        granted_frac = _ratio(s["gpus_busy_inference"].to_numpy(), need["gpus_needed"].to_numpy().astype(float))
        capacity_frac = granted_frac / TARGET_REPLICA_UTILISATION
        for name in svc.index:
            out_col, in_col = pool_demand[f"{name}__output_tokens_per_s"], pool_demand[f"{name}__input_tokens_per_s"]
            served = np.minimum(1.0, capacity_frac)
            served_out[name] += out_col.to_numpy() * served
            served_in[name] += in_col.to_numpy() * served
            capacity_out[name] += out_col.to_numpy() * capacity_frac
            gpus_busy_svc[name] += need[f"{name}__gpus"].to_numpy() * np.minimum(1.0, granted_frac)
        for col in s.columns:
            cols[col] = cols.get(col, 0) + s[col].to_numpy()
        job_tables.append(result.jobs.assign(platform=platform.id))
        failure_tables.append(result.failures.assign(platform=platform.id))
        pool_stats.append({k: float(v) for k, v in result.stats.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool)})

    stage("facility")
    fac = simulate_facility(design, it_kw, _ratio(liquid_kw, it_kw) if it_kw.any() else liquid_installed,
                            site["dry_bulb_c"].to_numpy(), site["wet_bulb_c"].to_numpy(),
                            site["rel_humidity_pct"].to_numpy(), site["heat_demand_mw"].to_numpy(),
                            site["dh_supply_temp_c"].to_numpy(), installed_kw, step_s)

    stage("accounting")
    series = pd.DataFrame({"t_s": timeline.t_s, "timestamp": timeline.timestamps})
    series = pd.concat([series, site], axis=1)
    for col in ("gpus_online", "gpus_busy_training", "gpus_busy_inference", "gpus_down", "gpus_idle",
                "gpus_inference_shortfall", "interruptions"):
        if col in cols:
            series[col] = cols[col]
    series["utilisation"] = _ratio(series["gpus_busy_training"].to_numpy() + series["gpus_busy_inference"].to_numpy(),
                                   series["gpus_online"].to_numpy().astype(float))
    series["cooling_capacity_kw"] = np.where(np.isfinite(capacity_kw), capacity_kw, np.nan)  # NaN: no liquid limit
    series["cooling_withheld_gpus"] = cooling_withheld_gpus
    fac_frame = fac.to_frame().reset_index(drop=True)
    for col in fac_frame.columns:
        series[col] = fac_frame[col].to_numpy()
    it = series["it_power_kw"].to_numpy()
    series["pue"] = np.divide(series["grid_power_kw"].to_numpy() - series.get("heat_pump_kw", 0.0), it,
                              out=np.full(n, np.nan), where=it > 0)
    for name in svc.index:
        for kind in ("requests_per_s", "input_tokens_per_s", "output_tokens_per_s"):
            series[f"{name}__{kind}"] = demand[f"{name}__{kind}"].to_numpy()
        series[f"{name}__output_tokens_served_per_s"] = served_out[name]
        series[f"{name}__input_tokens_served_per_s"] = served_in[name]
        series[f"{name}__capacity_output_tokens_per_s"] = capacity_out[name]
        series[f"{name}__gpus_busy"] = gpus_busy_svc[name]
    op_frame = op.to_frame().reset_index(drop=True)
    for col in op_frame.columns:
        series[f"op_{col}" if col in series.columns else col] = op_frame[col].to_numpy()
    accounts = account(scenario, series, step_s)
    for col in accounts.per_step.columns:  # energy cost, PPA, heat revenue, emissions per step
        if col not in series.columns:
            series[col] = accounts.per_step[col].to_numpy()

    renewable = scenario.economics.ppa_share
    kpis: dict[str, object] = _combine_pool_stats(pool_stats)  # site-level figures below take precedence
    kpis.update({
        "gpus_installed": int(sum(p.units_installed * p.platform.gpus_per_unit for p in pools)),
        "racks_installed": int(sum(p.units_installed for p in pools)),
        "installed_it_mw": installed_kw / 1000.0,
        "mean_dry_bulb_c": float(site["dry_bulb_c"].mean()),
        "mean_utilisation": float(series["utilisation"].mean()),
        # the cooling limit the scheduler obeyed (overload rule 'throttle'): hours and GPU-hours it held back
        "cooling_limited_hours": float((cooling_withheld_gpus > 0).sum() * timeline.step_h),
        "cooling_withheld_gpu_hours": float(cooling_withheld_gpus.sum() * timeline.step_h),
    })
    jobs = pd.concat(job_tables, ignore_index=True)
    kpis.update(_job_kpis(jobs))
    kpis.update(facility_kpis(fac, step_s, renewable, site["carbon_g_per_kwh"].to_numpy(), timeline.timestamps))
    kpis.update(accounts.kpis)
    for name in svc.index:
        demanded = float(series[f"{name}__output_tokens_per_s"].sum())
        kpis[f"inference_served_frac__{name}"] = float(series[f"{name}__output_tokens_served_per_s"].sum()) / demanded \
            if demanded > 0 else 1.0
    kpis.update({f"operation_{k}": v for k, v in op.notes.items() if isinstance(v, (int, float, str, bool))})

    monthly = monthly_kpis(fac, step_s, renewable, site["carbon_g_per_kwh"].to_numpy(), timeline.timestamps)
    monthly = monthly.rename_axis("month_start").reset_index()
    monthly["month"] = monthly["month_start"].dt.strftime("%Y-%m")
    acc_monthly = accounts.monthly.copy()
    acc_monthly["month"] = acc_monthly["month"].astype(str).str.slice(0, 7)
    monthly = monthly.merge(acc_monthly, on="month", how="left", suffixes=("", "_acct"))
    util_m = series.groupby(series["timestamp"].dt.strftime("%Y-%m"))["utilisation"].mean()
    monthly["mean_utilisation"] = monthly["month"].map(util_m).to_numpy()

    tables = {
        "timeseries": series,
        "monthly": monthly,
        "jobs": jobs,
        "failures": pd.concat(failure_tables, ignore_index=True),
        "cost_lines": accounts.cost_lines.reset_index(drop=True),
        "cash_flows": accounts.cash_flows.reset_index(drop=True),  # yearly, periods 0..N (accounting/cashflow.py)
    }
    return tables, _clean(kpis)


def _combine_pool_stats(pool_stats: list[dict[str, float]]) -> dict[str, float]:
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


def _job_kpis(jobs: pd.DataFrame) -> dict[str, float]:
    state = jobs["state"].astype(str)
    out: dict[str, float] = {"jobs_submitted": float(len(jobs))}
    for s in ("completed", "failed", "cancelled", "running_at_end", "never_started"):
        out[f"jobs_{s}"] = float((state == s).sum())
    started = jobs["wait_s"].notna() if "wait_s" in jobs else pd.Series(False, index=jobs.index)
    if started.any():
        waits = jobs.loc[started, "wait_s"].to_numpy(dtype=float)
        out["queue_wait_p50_s"] = float(np.percentile(waits, 50))
        out["queue_wait_p90_s"] = float(np.percentile(waits, 90))
    return out


def _clean(kpis: dict[str, object]) -> dict[str, object]:
    """JSON-safe KPIs: numpy scalars to Python, NaN/inf to None."""
    out: dict[str, object] = {}
    for k, v in kpis.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out
