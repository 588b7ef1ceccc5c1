"""One run as a chain of named stages; each stage is a function in the module that owns its model.

    site -> operation -> workload -> cluster (one per platform pool) -> IT power -> facility
    -> accounting -> tables

Each cached stage names what it reads (scenario sections, the keys of the stages it consumes, digests
of the arrays it is handed); ``dctwin.stages.cache`` turns that into its key. A stage sees only the
scenario sections it declares, so a key can never miss something the stage reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dctwin.accounting.accounts import Accounts, accounting_stage
from dctwin.accounting.band import BAND_FIELDS, BandDraws, band_draws
from dctwin.buildout import Pool
from dctwin.cluster.inference import idle_held_gpus
from dctwin.cluster.stage import PoolRun, pool_stage
from dctwin.config import Scenario
from dctwin.facility.heat_reuse import heat_pump_economics
from dctwin.facility.kpis import facility_kpis, monthly_kpis
from dctwin.facility.params import FacilityParams, design_params
from dctwin.facility.result import FacilityResult
from dctwin.facility.site_peak import run_peak_kpis
from dctwin.facility.stage import cooling_limit_kw, facility_stage, it_power_stage
from dctwin.operation.run_plan import RUN_PLAN_CODEC, operation_stage
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.site.stage import SiteSeries, site_stage
from dctwin.stages.cache import Fields, NoCache, array_digest, file_digests
from dctwin.stages.lazy import Lazy, Tables, resolve
from dctwin.stages.tables import clean_kpis, combine_pool_stats, job_kpis, monthly_table, site_timeseries
from dctwin.timeline import Timeline
from dctwin.workload.stage import InferenceDemand, workload_stage

__all__ = ["ScenarioView", "run_stages"]

ACCOUNTING_SECTIONS = ("economics", "site", "phases", "simulation", "facility")


class ScenarioView:
    """The sections of a scenario one stage declares; reading any other is an error, not a stale cache."""

    def __init__(self, scenario: Scenario, names: tuple[str, ...]) -> None:
        self._scenario, self._names = scenario, names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._names:
            raise AttributeError(f"this stage reads scenario.{name} but declares only {', '.join(self._names)}")
        return getattr(self._scenario, name)


def _sections(scenario: Scenario, *names: str) -> dict[str, Any]:
    """The named sections as JSON, and the digests of the files they name."""
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(scenario, name)
        dumped = [v.model_dump(mode="json") for v in value] if isinstance(value, list) else value.model_dump(
            mode="json")
        out[name] = {"value": dumped, "files": file_digests(dumped)}
    return out


def _pools_id(pools: list[Pool]) -> list[list[str | None]]:
    return [[p.platform.id, array_digest(p.units_online)] for p in pools]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def run_stages(scenario: Scenario, timeline: Timeline, pools: list[Pool], progress: Callable[[str], None],
               cache: NoCache | None = None, perf: PerfParams | None = None) -> tuple[Tables, dict[str, object]]:
    """Run every stage (reading back what ``cache`` holds); return the run's tables and flat KPIs. ``perf``: the
    performance model's constants (None: the packaged ones)."""
    cache = cache or NoCache()
    sc, seed, key = scenario, scenario.simulation.seed, cache.key
    # the run's model constants, read once and handed to every stage; inference at the scenario's serving stack
    perf = (perf or packaged_perf_params()).for_serving_software(sc.workload.serving_software)
    fparams = design_params(sc.facility)  # facility overrides applied
    progress("site")
    site = cache.stage("site", lambda: _sections(sc, "site", "simulation"),
                       lambda: site_stage(sc.site, timeline, seed), Fields(SiteSeries)).frame
    op = cache.stage("operation", lambda: {**_sections(sc, "operation", "simulation"), "site": key("site"),
                                           "pools": _pools_id(pools), "params": _params_id(perf, fparams, "power_cap")},
                     lambda: operation_stage(sc.operation, timeline, site, pools, perf_params=perf,
                                             facility_params=fparams), RUN_PLAN_CODEC)
    progress("workload")
    demand = cache.stage("workload", lambda: _sections(sc, "workload", "simulation"),
                         lambda: workload_stage(sc.workload, timeline, seed), Fields(InferenceDemand))
    cooling_kw = cooling_limit_kw(sc.facility, site, pools, params=fparams)
    progress("cluster")
    runs = _clusters(sc, timeline, pools, demand, op, cooling_kw, cache, (perf, fparams))
    it = it_power_stage(pools, [r.series["gpus_busy_training"].to_numpy() + r.series["gpus_busy_inference"].to_numpy()
                                - idle_held_gpus(r.served, timeline.n_steps) for r in runs], op.power_cap_frac,
                        params=fparams)
    progress("facility")
    ratio = _heat_to_power_price_ratio(sc, site, timeline)
    fac = cache.stage("facility", lambda: {**_sections(sc, "facility", "simulation"), "site": key("site"),
                                           "it_kw": array_digest(it.it_kw), "liquid_kw": array_digest(it.liquid_kw),
                                           "installed": [it.installed_kw, it.liquid_installed],
                                           "heat_to_power_price_ratio": array_digest(ratio)},
                      lambda: facility_stage(sc.facility, it, site, timeline.step_s, ratio, params=fparams),
                      Fields(FacilityResult))
    progress("accounting")
    withheld = np.zeros(timeline.n_steps)
    for r in runs:
        withheld = withheld + r.withheld_gpus
    series = site_timeseries(timeline, site, runs, cooling_kw, withheld, fac, demand, op)
    series_id = {"of": [key(n) for n in ("site", "operation", "workload", "facility")],
                 "clusters": [key(f"cluster#{i}") for i in range(len(pools))], "cooling": array_digest(cooling_kw)}
    draws = _band_draws(sc, cache)
    accounts = cache.stage("accounting", lambda: {**_sections(sc, *ACCOUNTING_SECTIONS), "series": series_id},
                           lambda: accounting_stage(ScenarioView(sc, ACCOUNTING_SECTIONS), series, timeline.step_s,
                                                    draws),
                           Fields(Accounts))
    return _tables(sc, timeline, pools, site, runs, fac, series, accounts, op, perf, cache)


def _params_id(perf: PerfParams, fparams: FacilityParams, *sections: str) -> dict[str, str]:
    """Digests of the model constants a stage receives: the named sections of ``perf`` and the IT power model."""
    return {"perf": perf.digest(*sections), "it_power": fparams.digest("it_power")}


def _band_draws(sc: Scenario, cache: NoCache) -> BandDraws | None:
    """The investor band's Latin-hypercube points, kept in the cache (keyed by count, fields, seed and numpy's
    version: the draws come from its generator); None without a cache (the band draws them)."""
    samples = sc.economics.finance.band_samples
    if not cache.enabled or samples <= 0:
        return None
    return cache.stage("band-draws", lambda: {"samples": samples, "fields": list(BAND_FIELDS),
                                              "seed": sc.simulation.seed, "numpy": np.__version__},
                       lambda: band_draws(samples, sc.simulation.seed), Fields(BandDraws))


def _heat_and_power_prices(sc: Scenario, site: pd.DataFrame, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """(heat price, all-in electricity price: spot + tax + grid fee) per step [EUR/MWh]."""
    from dctwin.accounting.accounts import heat_price_by_month_eur_per_mwh

    econ = sc.economics
    months = pd.DatetimeIndex(timeline.timestamps).month.to_numpy() - 1
    heat = heat_price_by_month_eur_per_mwh(sc)[months]
    elec = site["price_eur_per_mwh"].to_numpy(dtype=float) + econ.energy_tax_eur_per_mwh + econ.grid_fee_eur_per_mwh
    return heat, elec


def _heat_to_power_price_ratio(sc: Scenario, site: pd.DataFrame, timeline: Timeline) -> np.ndarray:
    """Heat price over the all-in electricity price per step [-]: the heat pumps' dispatch.

    Where electricity costs nothing or less, the ratio is infinite (lifting heat always pays).
    """
    heat, elec = _heat_and_power_prices(sc, site, timeline)
    return np.divide(heat, elec, out=np.full(len(elec), np.inf), where=elec > 0)


def _clusters(sc: Scenario, timeline: Timeline, pools: list[Pool], demand: InferenceDemand, op, cooling_kw,
              cache: NoCache, params: tuple[PerfParams, FacilityParams]) -> list[PoolRun]:
    """The cluster stage of every pool; the cooling limit binds only under the 'throttle' overload rule."""
    limit = cooling_kw if sc.facility.cooling.overload_rule == "throttle" else None
    gpus_total = sum(p.gpus_online for p in pools).astype(np.float64)
    runs = []
    for i, pool in enumerate(pools):
        share = _ratio(pool.gpus_online.astype(np.float64), gpus_total)
        inputs = {**_sections(sc, "scheduler", "workload", "simulation"), "pool": _pools_id([pool]), "index": i,
                  "share": array_digest(share), "workload": cache.key("workload"), "operation": cache.key("operation"),
                  "cooling_kw": array_digest(limit), "params": _params_id(*params)} if cache.enabled else {}
        runs.append(cache.stage(f"cluster#{i}", lambda inputs=inputs: inputs,
                                lambda i=i, pool=pool, share=share: pool_stage(
                                    sc.scheduler, sc.workload, timeline, pool, i, sc.simulation.seed, share, demand,
                                    op, limit, perf_params=params[0], facility_params=params[1]), Fields(PoolRun),
                                deferred=("jobs", "placements")))
    return runs


@dataclass(frozen=True)
class JobKpis:
    values: dict


def _job_kpis(runs: list[PoolRun], jobs: Lazy, cache: NoCache) -> dict[str, float]:
    """``job_kpis`` of the run's jobs, kept in the cache beside the cluster stages they come from: a warm re-run
    reads neither the job tables nor their placements (``dctwin.stages.lazy``)."""
    return cache.stage("job-kpis", lambda: {"clusters": [cache.key(f"cluster#{i}") for i in range(len(runs))]},
                       lambda: JobKpis(job_kpis(jobs.get())), Fields(JobKpis)).values


def _serving_layout_kpis(sc: Scenario, pools: list[Pool], perf: PerfParams) -> dict[str, str]:
    """The replica layout each inference service was sized with on each pool (``serving_layout__<svc>``)."""
    if not sc.workload.inference:
        return {}
    from dctwin.cluster.inference import service_layouts
    from dctwin.workload.inference import services

    table = services(sc.workload)
    per_pool = [(p.platform.id, service_layouts(table, p.platform, params=perf)) for p in pools]
    return {f"serving_layout__{svc}": "; ".join(f"{lay[svc]} on {pid}" for pid, lay in per_pool)
            for svc in table.index}


def _tables(sc: Scenario, timeline: Timeline, pools: list[Pool], site: pd.DataFrame, runs: list[PoolRun],
            fac: FacilityResult, series: pd.DataFrame, accounts: Accounts, op, perf: PerfParams,
            cache: NoCache) -> tuple[Tables, dict]:
    """The run's tables and KPIs (accounting's per-step columns joined to the time series); the job and placement
    tables stay unread (``Lazy``) until someone looks them up."""
    for col in accounts.per_step.columns:  # energy cost, PPA, heat revenue, emissions per step
        if col not in series.columns:
            series[col] = accounts.per_step[col].to_numpy()
    renewable, carbon = sc.economics.ppa_share, site["carbon_g_per_kwh"].to_numpy()
    jobs = Lazy(lambda: pd.concat([resolve(r.jobs) for r in runs], ignore_index=True))
    kpis: dict[str, object] = combine_pool_stats([r.stats for r in runs])  # site-level figures below win
    withheld = series["cooling_withheld_gpus"].to_numpy()
    kpis.update({
        "gpus_installed": int(sum(p.units_installed * p.platform.gpus_per_unit for p in pools)),
        "racks_installed": int(sum(p.units_installed for p in pools)),
        "installed_it_mw": sum(p.max_it_kw for p in pools) / 1000.0,
        "mean_dry_bulb_c": float(site["dry_bulb_c"].mean()),
        "mean_utilisation": float(series["utilisation"].mean()),
        # the cooling limit the scheduler obeyed (overload rule 'throttle'): hours and GPU-hours it held back
        "cooling_limited_hours": float((withheld > 0).sum() * timeline.step_h),
        "cooling_withheld_gpu_hours": float(withheld.sum() * timeline.step_h),
    })
    kpis.update(_job_kpis(runs, jobs, cache))
    if pools:  # which layout (or flat MFU) set the pre-training run time, first pool
        from dctwin.workload.jobs import pretrain_kpis
        kpis.update(pretrain_kpis(pools[0].platform, sc.workload, int(pools[0].gpus_online.max()), perf))
        kpis.update(_serving_layout_kpis(sc, pools, perf))
    kpis.update(facility_kpis(fac, timeline.step_s, renewable, carbon, timeline.timestamps))
    kpis.update(run_peak_kpis(sc, float(kpis["peak_grid_power_mw"]), site))  # design and run peak vs grid limits
    kpis.update(heat_pump_economics(fac, *_heat_and_power_prices(sc, site, timeline), timeline.step_h))
    kpis.update(accounts.kpis)
    for name in _service_names(series):
        demanded = float(series[f"{name}__output_tokens_per_s"].sum())
        kpis[f"inference_served_frac__{name}"] = float(series[f"{name}__output_tokens_served_per_s"].sum()) / demanded \
            if demanded > 0 else 1.0
        if f"{name}__it_power_kw" in series.columns:  # disaggregated: IT energy of its pools per output token
            served_tok = float(series[f"{name}__output_tokens_served_per_s"].sum()) * timeline.step_s
            energy_j = float(series[f"{name}__it_power_kw"].sum()) * 1e3 * timeline.step_s
            kpis[f"it_j_per_output_token__{name}"] = energy_j / served_tok if served_tok > 0 else float("nan")
    kpis.update({f"operation_{k}": v for k, v in op.notes.items() if isinstance(v, (int, float, str, bool))})
    monthly = monthly_table(monthly_kpis(fac, timeline.step_s, renewable, carbon, timeline.timestamps),
                            accounts.monthly, series)
    tables = Tables({"timeseries": series, "monthly": monthly, "jobs": jobs,
                     "failures": pd.concat([r.failures for r in runs], ignore_index=True),
                     "placements": Lazy(lambda: pd.concat([resolve(r.placements) for r in runs], ignore_index=True)),
                     "cost_lines": accounts.cost_lines.reset_index(drop=True),
                     "cash_flows": accounts.cash_flows.reset_index(drop=True),  # yearly, periods 0..N
                     "cash_flows_monthly": accounts.cash_flows_monthly,  # the same flows by month, undiscounted
                     "investor": accounts.investor})  # P10-P90 of NPV, IRR, payback, unit costs (accounting/band)
    return tables, clean_kpis(kpis)


def _service_names(series: pd.DataFrame) -> list[str]:
    suffix = "__output_tokens_served_per_s"
    return [c.removesuffix(suffix) for c in series.columns if c.endswith(suffix)]
