"""``simulate_cluster``: run the job table through the cluster and return tables and series."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dctwin.catalog.platform import Platform
from dctwin.cluster.engine import CANCELLED, DONE, FAILED, PENDING, QUEUED, RESTARTING, RUNNING, Engine
from dctwin.cluster.engine_path import choose, core_serves
from dctwin.cluster.failures import failure_model
from dctwin.cluster.placement import get_placement
from dctwin.cluster.placement.gang import gang_rule
from dctwin.cluster.placement.log import placement_table
from dctwin.cluster.placement.typed import parse_types
from dctwin.cluster.policies import get_policy
from dctwin.cluster.series import step_mean
from dctwin.config.cluster import SchedulerConfig
from dctwin.errors import InputError
from dctwin.rng import stream
from dctwin.timeline import Timeline

__all__ = ["JOB_COLUMNS", "ClusterResult", "simulate_cluster"]

JOB_COLUMNS = ("job_id", "kind", "tenant", "submit_s", "gpus", "duration_s", "priority", "deferrable", "model",
               "max_wait_s")


@dataclass
class ClusterResult:
    """Output of a cluster run.

    ``jobs``: the input job table plus ``start_s, end_s`` [s] (NaN if none),
    ``state``, ``restarts``, ``preemptions``, ``gpu_s`` (allocated),
    ``useful_gpu_s``, ``lost_gpu_s``, ``checkpoint_gpu_s`` [GPU s],
    ``wait_s`` [s], ``placement_domains`` (most NVLink domains spanned),
    ``first_domain``.
    ``series``: one row per step, time-weighted means over the step:
    ``gpus_online, gpus_busy_training, gpus_busy_inference, gpus_down,
    gpus_idle, gpus_inference_shortfall`` [GPU], ``utilisation`` (busy /
    online) [-], ``interruptions`` (job failures in the step) [count].
    ``failures``: ``t_s, job_id, component``. ``stats``: run totals.
    ``placements``: every change of GPUs held per scale-up domain (``dctwin.cluster.placement.log``):
    ``t_s`` [s], ``job_id`` (-1: not a job), ``holder``, ``domain``, ``gpus_change`` [GPU].
    """

    jobs: pd.DataFrame
    series: pd.DataFrame
    failures: pd.DataFrame
    stats: dict = field(default_factory=dict)
    placements: pd.DataFrame = field(default_factory=pd.DataFrame)


_STATE_NAMES = {DONE: "completed", FAILED: "failed", CANCELLED: "cancelled"}


def _per_step(name: str, a, n_steps: int, default: float | None = None) -> np.ndarray:
    if a is None:
        return np.full(n_steps, default)
    arr = np.asarray(a, dtype=np.float64)
    if arr.shape != (n_steps,):
        raise InputError("per-step array has the wrong length", field=name, value=arr.shape,
                         allowed=f"one value per step: ({n_steps},)")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputError("per-step GPU counts must be finite and >= 0", field=name)
    return arr


def _check_jobs(jobs: pd.DataFrame) -> None:
    missing = [c for c in JOB_COLUMNS if c not in jobs.columns]
    if missing:
        raise InputError("job table lacks columns", field="jobs", value=missing, allowed=", ".join(JOB_COLUMNS))
    sub = jobs["submit_s"].to_numpy(dtype=np.float64)
    if len(sub) and (np.any(np.diff(sub) < 0) or not np.all(np.isfinite(sub))):
        raise InputError("submit_s must be finite and sorted ascending", field="jobs.submit_s")
    if len(sub) and (jobs["gpus"].to_numpy() < 1).any():
        raise InputError("every job needs at least 1 GPU", field="jobs.gpus")
    dur = jobs["duration_s"].to_numpy(dtype=np.float64)
    if len(dur) and (not np.all(np.isfinite(dur)) or (dur < 0).any()):
        raise InputError("duration_s must be finite and >= 0", field="jobs.duration_s")


def _ready_order(scheduler: SchedulerConfig, cols: dict, submit: np.ndarray, seed: int,
                 model: dict | None = None) -> np.ndarray | None:
    """With a latency model (``model``, else ``scheduler.latency_path``'s): jobs reach the queue at submit + delay.

    ``cols`` is reordered in place by that time (the engine takes jobs in queue order);
    returns the order (None without a latency model). Deadlines stay counted from submission.
    """
    if (model is None and scheduler.latency_path is None) or submit.size == 0:
        return None
    from dctwin.cluster.latency import draw_delays
    from dctwin.workload.profile_gen import load_profile

    model = model or load_profile(scheduler.latency_path).get("scheduler_latency")
    if not model:
        raise InputError("the profile has no scheduler latency (its log had no queue waits with a retry comb)",
                         file=str(scheduler.latency_path), field="scheduler.latency_path")
    ready = submit + draw_delays(model, stream(seed, "cluster.latency"), submit.size)
    perm = np.argsort(ready, kind="stable")
    for key in list(cols):
        cols[key] = [cols[key][i] for i in perm]
    cols["submit_s"] = ready[perm].tolist()
    return perm


_PER_JOB = ("state", "first_start", "end_s", "restarts", "preempts", "gpu_s", "useful", "lost", "ckpt", "deadline",
            "ndom", "first_dom")


def _unpermute(eng: Engine, perm: np.ndarray) -> None:
    """Put the engine's per-job lists back in job-table order after a run in queue order."""
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size)
    for name in _PER_JOB:
        setattr(eng, name, np.asarray(getattr(eng, name))[inv])
    eng.fail_log = [(t, int(perm[j]), c) for t, j, c in eng.fail_log]


def simulate_cluster(scheduler: SchedulerConfig, timeline: Timeline, gpus_online: np.ndarray, platform: Platform,
                     jobs: pd.DataFrame, inference_gpus_needed: np.ndarray, seed: int,
                     gpu_cap: np.ndarray | None = None, *, audit: bool = False,
                     latency: dict | None = None, domains: list[int] | None = None,
                     domain_types: list[str] | None = None) -> ClusterResult:
    """Simulate training/batch jobs and fluid inference on a phased GPU fleet.

    ``gpus_online`` [GPU] per step: installed and online; ``inference_gpus_needed``
    [GPU] per step: GPUs the inference services need (served first, lent to
    training when lower); ``gpu_cap`` [GPU] per step: most GPUs that may be busy
    (facility power/cooling limit), obeyed when ``scheduler.obey_facility_limits``.
    Same inputs and ``seed``, same output. ``audit=True`` re-checks every GPU's
    owner after each batch of events (slow; for tests). ``latency``: a scheduler
    attempt model (``dctwin.cluster.latency.fit_latency``) instead of ``scheduler.latency_path``'s.
    ``domains``: GPUs of each scale-up domain in the order they come online (e.g. a trace's nodes) instead of
    equal domains of ``platform.scale_up_domain_gpus``; ``domain_types``: the GPU type of each of them (pools of
    several types in one cluster; a job's ``gpu_type`` column, if any, says which it accepts).
    """
    n_steps = timeline.n_steps
    step_s = int(timeline.step_s)
    _check_jobs(jobs)
    online = np.floor(_per_step("gpus_online", gpus_online, n_steps)).astype(np.int64)
    need = np.ceil(_per_step("inference_gpus_needed", inference_gpus_needed, n_steps) - 1e-9).astype(np.int64)
    limit = online.copy()
    if gpu_cap is not None and scheduler.obey_facility_limits:
        limit = np.minimum(limit, np.floor(_per_step("gpu_cap", gpu_cap, n_steps)).astype(np.int64))
    policy_cls = get_policy(scheduler.policy)
    place = get_placement(scheduler.placement)
    dgpus = int(platform.scale_up_domain_gpus)
    fm = failure_model(scheduler.failures, scheduler.checkpoint, dgpus)

    cols, tenant_names = _engine_columns(jobs)
    submit = jobs["submit_s"].to_numpy(dtype=np.float64)
    cols["job_types"], typed = _typed(jobs, domains, domain_types, platform, scheduler.placement)
    perm = _ready_order(scheduler, cols, submit, seed, latency)
    n_dom = len(domains) if domains else -(-int(online.max(initial=0)) // dgpus)
    core = core_serves(scheduler.policy, gang_rule(scheduler.gang_rule, scheduler.placement), typed, place)
    path = choose(n_dom, n_steps * step_s / 86_400.0, typed is not None, scheduler.placement, len(jobs), core)
    eng = Engine(jobs=cols, step_s=step_s, n_steps=n_steps, online=_ints(online), limit=_ints(limit),
                 inf_need=_ints(need), domain_gpus=list(domains) if domains else dgpus, place=place,
                 policy_cls=policy_cls, gang=gang_rule(scheduler.gang_rule, scheduler.placement),
                 job_types=cols["job_types"] if typed else None, domain_types=typed,
                 depth=scheduler.backfill_depth, fm=fm, ckpt_cfg=scheduler.checkpoint,
                 max_restarts=scheduler.failures.max_restarts,
                 inference_preempts=scheduler.inference_preempts_training,
                 spare_fraction=scheduler.failures.spare_fraction, rng=stream(seed, "cluster.failures"), path=path)
    eng.audit_each_batch = audit
    names = {str(t): i for i, t in enumerate(tenant_names)}
    top = int(online.max(initial=0))
    eng.tenant_quota = {names[t]: int(share * top) for t, share in scheduler.tenant_quota_share.items() if t in names}
    eng.run()
    if perm is not None:
        _unpermute(eng, perm)
    result = _result(eng, jobs, online, need, fm, timeline)
    result.stats["engine_path"] = path       # 'python' or 'compiled' (engine_path.py); same results either way
    result.placements = placement_table(eng.plog, jobs["job_id"].to_numpy(), perm)
    return _fragmentation(eng, perm, result) if eng.gang is not None else result


def _ints(per_step: np.ndarray) -> array:
    """A per-step integer series as the engine reads it: indexable like a list, 8 bytes a step (a list would
    hold a Python int object per step: ~36 bytes, 3 MB per series and day at 1-s steps)."""
    return array("q", np.ascontiguousarray(per_step, dtype=np.int64).tobytes())


def _engine_columns(jobs: pd.DataFrame) -> tuple[dict, pd.Index]:
    """The job table as the engine's per-job lists, and the tenant names (the engine numbers tenants)."""
    tenant_codes, tenant_names = pd.factorize(jobs["tenant"].astype(str), sort=False)
    submit = jobs["submit_s"].to_numpy(dtype=np.float64)
    max_wait = jobs["max_wait_s"].to_numpy(dtype=np.float64)
    return {
        "gpus": jobs["gpus"].to_numpy(dtype=np.int64).tolist(),
        "priority": jobs["priority"].to_numpy(dtype=np.int64).tolist(),
        "tenant": tenant_codes.astype(np.int64).tolist(),
        "submit_s": submit.tolist(),
        "deadline_s": (submit + np.nan_to_num(max_wait, nan=np.inf)).tolist(),
        "duration_s": jobs["duration_s"].to_numpy(dtype=np.float64).tolist(),
        "deferrable": jobs["deferrable"].to_numpy(dtype=bool).tolist(),
    }, tenant_names


def _typed(jobs: pd.DataFrame, domains: list[int] | None, domain_types: list[str] | None, platform: Platform,
           placement: str) -> tuple[list, tuple | None]:
    """(per job: None or the GPU-type indices it accepts; (type index per domain, type names) or None).

    Without ``domain_types`` the cluster has one type, ``platform.gpu_name`` (or ``platform.id``): a job asking
    for another is refused.
    """
    asks = "gpu_type" in jobs.columns and bool((jobs["gpu_type"].fillna("").astype(str) != "").any())
    if domain_types is None:
        if asks:  # one type: the platform's GPU, by name or platform id, among a job's alternatives
            ours = {platform.gpu_name, platform.id}
            alts = jobs["gpu_type"].fillna("").astype(str).str.split("|")
            ok = alts.map(lambda a: any(x.strip() in ours for x in a) or not "".join(a).strip()).to_numpy(dtype=bool)
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise InputError(f"row {i}: the cluster has no GPUs of this type", field="gpu_type",
                                 value=jobs["gpu_type"].iloc[i], allowed=f"{platform.gpu_name} or {platform.id}")
        return [None] * len(jobs), None
    if domains is None or len(domain_types) != len(domains):
        raise InputError("one GPU type per domain is needed", field="domain_types",
                         value=len(domain_types), allowed=f"{len(domains or [])} (one per domain)")
    if not asks:
        return [None] * len(jobs), None
    if placement != "topology":
        raise InputError("GPU-type pools need the topology placement", field="scheduler.placement", value=placement,
                         allowed="topology")
    names = list(dict.fromkeys(str(t) for t in domain_types))
    return parse_types(jobs["gpu_type"], names), ([names.index(str(t)) for t in domain_types], names)


def _fragmentation(eng: Engine, perm: np.ndarray | None, result: ClusterResult) -> ClusterResult:
    """Each job's fragmentation wait [s] (``fragmentation_wait_s``: queue wait while the scheduler was blocked by
    fragmentation, ``dctwin.cluster.placement.gang``) and its share of all queue wait."""
    jobs = result.jobs
    wait = jobs["wait_s"].fillna(0.0).to_numpy(dtype=np.float64)
    wait_end = jobs["submit_s"].to_numpy(dtype=np.float64) + wait
    ready = np.asarray(eng.submit, dtype=np.float64)          # reached the queue (engine order)
    if perm is not None:
        ready = ready[np.argsort(perm)]
    frag = eng.gang.overlap_s(np.minimum(ready, wait_end), wait_end, eng.t_end)
    jobs["fragmentation_wait_s"] = np.minimum(frag, wait)
    total = float(wait.sum())
    result.stats["fragmentation_wait_frac"] = float(jobs["fragmentation_wait_s"].sum()) / total if total > 0 else 0.0
    return result


def _job_table(eng: Engine, jobs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The input job table plus the run's per-job columns; also (started mask, first start [s], end [s] or inf)."""
    t_end = eng.t_end
    state = np.asarray(eng.state, dtype=np.int64)
    first = np.asarray(eng.first_start, dtype=np.float64)
    started = first >= 0
    end = np.asarray(eng.end_s, dtype=np.float64)
    names = np.full(len(state), "never_started", dtype=object)
    for code, nm in _STATE_NAMES.items():
        names[state == code] = nm
    in_flight = (state == RUNNING) | (state == RESTARTING) | ((state == QUEUED) & started)
    names[in_flight] = "running_at_end"
    # queued and never started: cancelled if the deadline fell inside the run
    deadline = np.asarray(eng.deadline, dtype=np.float64)
    waiting = ((state == QUEUED) & ~started)
    late = waiting & (deadline <= t_end)
    names[late] = "cancelled"
    end = np.where(late, deadline, end)
    out = jobs.copy()
    out["start_s"] = np.where(started, first, np.nan)
    out["end_s"] = np.where(np.isfinite(end), end, np.nan)
    out["state"] = pd.Series(names, index=out.index, dtype="string")
    out["restarts"] = np.asarray(eng.restarts, dtype=np.int64)
    out["preemptions"] = np.asarray(eng.preempts, dtype=np.int64)
    out["gpu_s"] = np.asarray(eng.gpu_s, dtype=np.float64)
    out["useful_gpu_s"] = np.asarray(eng.useful, dtype=np.float64)
    out["lost_gpu_s"] = np.asarray(eng.lost, dtype=np.float64)
    out["checkpoint_gpu_s"] = np.asarray(eng.ckpt, dtype=np.float64)
    submit = jobs["submit_s"].to_numpy(dtype=np.float64)
    wait_end = np.where(started, first, np.minimum(np.where(np.isfinite(end), end, t_end), t_end))
    out["wait_s"] = np.where(state == PENDING, np.nan, np.maximum(wait_end - submit, 0.0))
    gpus_f = jobs["gpus"].to_numpy(dtype=np.float64)
    held_s = np.where(started, np.where(np.isfinite(end), end, t_end) - np.where(started, first, 0.0), 0.0)
    out["effective_training_time_frac"] = np.divide(out["useful_gpu_s"].to_numpy(), gpus_f * held_s,
                                                    out=np.full(len(out), np.nan), where=held_s > 0)
    out["placement_domains"] = np.asarray(eng.ndom, dtype=np.int64)
    out["first_domain"] = np.asarray(eng.first_dom, dtype=np.int64)
    return out, started, first, end


def _series(eng: Engine, jobs: pd.DataFrame, online: np.ndarray, fm, timeline: Timeline):
    """(per-step series, failures table, busy GPUs per step, online GPUs per step as floats)."""
    n_steps, step_s = eng.n_steps, eng.step_s
    tr = step_mean(np.asarray(eng.tr_t, dtype=np.float64), np.asarray(eng.tr_d, dtype=np.float64), step_s, n_steps)
    inf = step_mean(np.asarray(eng.in_t, dtype=np.float64), np.asarray(eng.in_d, dtype=np.float64), step_s, n_steps)
    dn = step_mean(np.asarray(eng.dn_t, dtype=np.float64), np.asarray(eng.dn_d, dtype=np.float64), step_s, n_steps)
    fails = pd.DataFrame({
        "t_s": np.array([f[0] for f in eng.fail_log], dtype=np.float64),
        "job_id": jobs["job_id"].to_numpy()[np.array([f[1] for f in eng.fail_log], dtype=np.int64)],
        "component": pd.Series([fm.components[f[2]] for f in eng.fail_log], dtype="string"),
    })
    inter = np.bincount((fails["t_s"].to_numpy() // step_s).astype(np.int64), minlength=n_steps)[:n_steps]
    on = online.astype(np.float64)
    busy = tr + inf
    series = pd.DataFrame({
        "gpus_online": on,
        "gpus_busy_training": tr,
        "gpus_busy_inference": inf,
        "gpus_down": dn,
        "gpus_idle": np.maximum(on - busy - dn, 0.0),
        "gpus_inference_shortfall": eng.shortfall.astype(np.float64),
        "utilisation": np.divide(busy, on, out=np.zeros(n_steps), where=on > 0),
        "interruptions": inter.astype(np.int64),
    }, index=timeline.timestamps)
    return series, fails, busy, on


def _result(eng: Engine, jobs: pd.DataFrame, online: np.ndarray, need: np.ndarray, fm, timeline: Timeline):
    step_s, t_end = eng.step_s, eng.t_end
    out, started, first, end = _job_table(eng, jobs)
    series, fails, busy, on = _series(eng, jobs, online, fm, timeline)
    gpus = jobs["gpus"].to_numpy(dtype=np.float64)
    span = np.where(started, np.minimum(np.where(np.isfinite(end), end, t_end), t_end) - first, 0.0)
    tot_gpu_s = float(out["gpu_s"].sum())
    tot_useful = float(out["useful_gpu_s"].sum())
    stats = {
        "events_processed": int(eng.events),
        "jobs": len(jobs),
        "jobs_by_state": {k: int(v) for k, v in out["state"].value_counts().items()},
        "interruptions": len(fails),
        "interruptions_by_component": {k: int(v) for k, v in fails["component"].value_counts().items()},
        "allocated_gpu_s": tot_gpu_s,
        "useful_gpu_s": tot_useful,
        "lost_gpu_s": float(out["lost_gpu_s"].sum()),
        "checkpoint_gpu_s": float(out["checkpoint_gpu_s"].sum()),
        "goodput_frac": tot_useful / tot_gpu_s if tot_gpu_s > 0 else float("nan"),
        "effective_training_time_frac": (tot_useful / float((gpus * span).sum())
                                         if (gpus * span).sum() > 0 else float("nan")),
        "preemptions": int(out["preemptions"].sum()),
        "preemptions_for_capacity": int(eng.preemptions_for_capacity),
        "preemption_lost_gpu_s": float(eng.preempt_lost_gpu_s),
        "mean_wait_s": float(np.nanmean(out["wait_s"])) if started.any() else float("nan"),
        "mean_utilisation": float(busy.sum() / on.sum()) if on.sum() > 0 else float("nan"),
        "inference_shortfall_gpu_s": float(eng.shortfall.sum(dtype=np.float64) * step_s),  # int64 overflowed
    }
    return ClusterResult(jobs=out, series=series, failures=fails, stats=stats)
