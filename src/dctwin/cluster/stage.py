"""The cluster stage of a run: one platform pool's jobs and inference through the scheduler.

Per pool: its share of the inference demand, the GPUs that demand needs, the busy-GPU cap (operation plan
and, under the 'throttle' overload rule, the cooling limit), the job table (slowed by a power cap, deferred
by the plan), the cluster simulation (run again below its own baseline for demand response), and what
inference it served.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.buildout import Pool
from dctwin.cluster.inference import (
    TARGET_REPLICA_UTILISATION,
    Autoscaler,
    autoscaler_defaults,
    inference_gpus_needed,
    served_tokens,
)
from dctwin.cluster.simulate import simulate_cluster
from dctwin.config.cluster import SchedulerConfig
from dctwin.config.workload import WorkloadConfig
from dctwin.errors import InputError
from dctwin.facility.it_power import it_power_kw
from dctwin.facility.params import FacilityParams
from dctwin.operation.demand_response import cap_below_baseline
from dctwin.operation.load_shift import shift_deferrable
from dctwin.operation.run_plan import RunPlan
from dctwin.operation.throughput import slowed_jobs
from dctwin.perf.params import PerfParams
from dctwin.timeline import Timeline
from dctwin.workload.schema import empty_jobs
from dctwin.workload.stage import InferenceDemand

__all__ = ["PoolRun", "check_pool_types", "pool_seed", "pool_stage"]


@dataclass(frozen=True)
class PoolRun:
    """One pool's cluster run: ``series`` (``ClusterResult.series``), ``jobs``, ``failures``, ``stats``,
    ``served`` (``served_tokens`` columns), ``withheld_gpus`` [GPU] the cooling limit kept idle per step and
    ``placements`` (``ClusterResult.placements``: GPUs held per scale-up domain over time). Read back from the
    stage cache, ``jobs`` and ``placements`` are ``dctwin.stages.lazy.Lazy`` until first used."""

    series: pd.DataFrame
    jobs: pd.DataFrame
    failures: pd.DataFrame
    stats: dict
    served: pd.DataFrame
    withheld_gpus: np.ndarray
    placements: pd.DataFrame


def pool_seed(seed: int, index: int, pool: Pool) -> int:
    """The first pool uses the scenario seed; later pools derive their own."""
    return seed if index == 0 else (seed ^ zlib.crc32(pool.platform.id.encode())) % (2**63)


def _busy_cap(pool: Pool, op: RunPlan, share: np.ndarray, cooling_kw: np.ndarray | None,
              facility_params: FacilityParams | None):
    """(busy-GPU cap or None, GPUs the cooling limit withholds) for ``pool`` [GPU]."""
    gpu_cap = op.gpu_cap(pool)
    withheld = np.zeros(len(share))
    if cooling_kw is not None:  # the scheduler keeps busy GPUs within what heat rejection can hold this hour
        platform = pool.platform
        unit_kw = it_power_kw(platform, np.array([1]), np.array([1.0]), 1.0, params=facility_params)[0]
        per_gpu_kw = float(unit_kw) / platform.gpus_per_unit
        cooling_gpus = np.floor(np.minimum(cooling_kw * share / per_gpu_kw, pool.gpus_online)).astype(np.int64)
        withheld = withheld + np.maximum(0, pool.gpus_online - cooling_gpus)
        gpu_cap = cooling_gpus if gpu_cap is None else np.minimum(gpu_cap, cooling_gpus)
    return gpu_cap, withheld


def _pool_jobs(workload: WorkloadConfig, timeline: Timeline, pool: Pool, index: int, seed: int,
               op: RunPlan, perf_params: PerfParams | None) -> pd.DataFrame:
    """The pool's job table: drawn (or replayed on the first pool only), slowed by a power cap, deferred."""
    from dctwin.workload import generate_jobs  # imports scipy.special: not needed by a run whose cluster is cached

    if workload.jobs_path is not None and index > 0 and not _typed_log(workload):
        jobs = empty_jobs()  # a replayed job trace without GPU types runs on the first pool only
    else:
        jobs = generate_jobs(workload, timeline, int(pool.gpus_online.max()), pool.platform, seed,
                             perf_params=perf_params)
        if workload.jobs_path is not None and "gpu_type" in jobs.columns:
            jobs = _pool_rows(jobs, pool, index)
    jobs = slowed_jobs(jobs, op.throughput_factor(pool, perf_params))
    return shift_deferrable(jobs, np.asarray(op.defer_ok, dtype=bool), timeline.step_s)


def _typed_log(workload: WorkloadConfig) -> bool:
    """The replayed job table has a gpu_type column (read again: each pool takes its own rows)."""
    from dctwin.workload.traces import read_job_table

    return "gpu_type" in read_job_table(workload.jobs_path).columns


def _first_type(jobs: pd.DataFrame) -> pd.Series:
    return jobs["gpu_type"].astype(str).str.split("|").str[0].str.strip()


def _pool_rows(jobs: pd.DataFrame, pool: Pool, index: int) -> pd.DataFrame:
    """The rows of a typed job table pool ``index`` runs: jobs whose first GPU type is its GPU (name or platform
    id); the first pool also takes jobs of any type ('')."""
    first = _first_type(jobs)
    mine = first.isin([pool.platform.gpu_name, pool.platform.id]).to_numpy()
    if index == 0:
        mine = mine | (first == "").to_numpy()
    out = jobs[mine].reset_index(drop=True)
    out["job_id"] = np.arange(len(out), dtype=np.int64)
    return out


def check_pool_types(workload: WorkloadConfig, platforms: list) -> None:
    """A replayed job asking for a GPU type no pool of the site has is refused (file, row, type, the site's types);
    ``platforms``: the catalog platforms of the site's pools (``dctwin.config.runnable``)."""
    if workload.jobs_path is None or not _typed_log(workload):
        return
    from dctwin.workload.traces import read_job_table

    first = _first_type(read_job_table(workload.jobs_path))
    names = [n for p in platforms for n in (p.gpu_name, p.id)]
    bad = np.flatnonzero(~(first.isin(names) | (first == "")).to_numpy())
    if bad.size:
        raise InputError(f"row {int(bad[0])}: the site has no GPUs of this type", file=str(workload.jobs_path),
                         field="gpu_type", value=first.iloc[int(bad[0])],
                         allowed=", ".join(names) + " ('' for any; a job runs on the pool of its first type)")


def _autoscaler(scheduler: SchedulerConfig, step_s: float) -> Autoscaler:
    """The inference autoscaler of the scenario: its fields, else the data file's defaults."""
    own = (scheduler.inference_scale_down_window_s, scheduler.inference_scale_tolerance,
           scheduler.inference_scale_sync_s)
    d = autoscaler_defaults() if None in own else {}
    window_s, tol, sync_s = (d.get(k) if v is None else v
                             for v, k in zip(own, ("scale_down_window_s", "tolerance", "sync_period_s"), strict=True))
    return Autoscaler(step_s=float(step_s), scale_down_window_s=float(window_s), tolerance=float(tol),
                      sync_s=float(sync_s))


def pool_stage(scheduler: SchedulerConfig, workload: WorkloadConfig, timeline: Timeline, pool: Pool, index: int,
               seed: int, share: np.ndarray, demand: InferenceDemand, op: RunPlan,
               cooling_kw: np.ndarray | None, *, perf_params: PerfParams | None = None,
               facility_params: FacilityParams | None = None) -> PoolRun:
    """Run pool ``index`` (``share`` [-] of the site's GPUs online per step); ``cooling_kw`` [kW]: the IT power
    heat rejection can hold per step when the scheduler must obey it, else None; ``perf_params`` and
    ``facility_params``: the run's model constants (inference capacity, pre-training time, power-cap law; the IT
    power of a busy GPU), None: packaged."""
    pool_demand = demand.demand.mul(share, axis=0)
    need = inference_gpus_needed(pool_demand, demand.services, pool.platform,
                                 target_utilisation=TARGET_REPLICA_UTILISATION, params=perf_params,
                                 autoscaler=_autoscaler(scheduler, timeline.step_s))
    gpu_cap, withheld = _busy_cap(pool, op, share, cooling_kw, facility_params)
    seed = pool_seed(seed, index, pool)
    jobs = _pool_jobs(workload, timeline, pool, index, seed, op, perf_params)
    held_gpus = need["gpus_held"].to_numpy()   # what the autoscaler holds; served_tokens compares with the need
    result = simulate_cluster(scheduler, timeline, pool.gpus_online, pool.platform, jobs, held_gpus, seed,
                              gpu_cap=gpu_cap)
    cut = op.gpu_cut(pool)
    if cut.any():  # demand response: shed below this run's own baseline, then run again under that cap
        baseline = (result.series["gpus_busy_training"] + result.series["gpus_busy_inference"]).to_numpy()
        capped = cap_below_baseline(baseline, cut, pool.gpus_online)
        gpu_cap = capped if gpu_cap is None else np.minimum(gpu_cap, capped)
        result = simulate_cluster(scheduler, timeline, pool.gpus_online, pool.platform, jobs, held_gpus, seed,
                                  gpu_cap=gpu_cap)
    served = served_tokens(pool_demand, demand.services, need, result.series["gpus_busy_inference"].to_numpy(),
                           platform=pool.platform, params=perf_params, facility_params=facility_params)
    stats = {k: float(v) for k, v in result.stats.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return PoolRun(series=result.series, jobs=result.jobs.assign(platform=pool.platform.id),
                   failures=result.failures.assign(platform=pool.platform.id), stats=stats, served=served,
                   withheld_gpus=withheld, placements=result.placements.assign(platform=pool.platform.id))
