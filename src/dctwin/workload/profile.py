"""Fit a workload profile to a job log: arrivals, GPUs per job, run time per size class, states, tenants.

A profile is a YAML file (``PROFILE_VERSION``) that a scenario names in
``workload.training.dev.profile_file``. What it holds, each fitted to the log:

* arrivals: submissions come in groups (jobs sharing a submit second, e.g. a
  sweep); the group rate per hour of the week (168 values, mean 1; a log
  shorter than two weeks gets hour-of-day factors repeated over the week) times
  the mean group rate, and the group-size distribution;
* GPUs per job: the recorded counts and their shares;
* run time per size class (GPU counts pooled in powers of two, classes with
  fewer than ``MIN_CLASS_JOBS`` jobs merged into the class below): empirical
  body with a generalised-Pareto tail (``dctwin.workload.tails``);
* shares of final states, of tenants (the 20 largest, the rest as 'other') and of
  job kinds per size class; the recorded queue wait, when the log has it, and
  the scheduler's attempt latency fitted to it (``dctwin.cluster.latency``; a
  scenario uses it through ``scheduler.latency_path``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dctwin.cluster.latency import fit_latency
from dctwin.errors import InputError
from dctwin.workload.formats import TraceLog
from dctwin.workload.tails import fit_body_tail, summary

__all__ = ["MIN_CLASS_JOBS", "MIN_FIT_JOBS", "PROFILE_VERSION", "fit_profile", "hour_of_week", "size_classes"]

PROFILE_VERSION = 1
MIN_CLASS_JOBS = 200
# a profile holds at least one run-time class, and a class is never fitted to fewer jobs than this: its body is 91
# quantiles at 1 % steps plus tail knots, which a smaller log could only fill by repeating its own run times
MIN_FIT_JOBS = MIN_CLASS_JOBS
TOP_TENANTS = 20
_WEEK_H = 168


def hour_of_week(t_s: np.ndarray, origin_how: int) -> np.ndarray:
    """Hour of the week (Monday 00h = 0) of times ``t_s`` [s] whose t = 0 falls in hour ``origin_how``."""
    return (origin_how + (np.asarray(t_s, dtype=np.float64) // 3600.0).astype(np.int64)) % _WEEK_H


def size_classes(gpus: np.ndarray, min_jobs: int = MIN_CLASS_JOBS) -> list[int]:
    """Upper GPU bounds of the run-time classes: powers of two, thin classes merged into the one below."""
    top = int(2 ** np.ceil(np.log2(max(int(gpus.max()), 1))))
    bounds = [2**k for k in range(int(np.log2(top)) + 1)]
    counts = [int(((gpus <= b) & (gpus > (bounds[i - 1] if i else 0))).sum()) for i, b in enumerate(bounds)]
    out: list[int] = []
    pending = 0
    for b, c in zip(bounds, counts, strict=False):
        pending += c
        if pending >= min_jobs or b == bounds[-1]:
            out.append(b)
            pending = 0
    if len(out) > 1 and pending == 0:
        last_lo = out[-2]
        n_last = int(((gpus > last_lo) & (gpus <= out[-1])).sum())
        if n_last < min_jobs:  # the top class is thin: fold it into the one below
            out.pop(-2)
    return out


def _arrivals(t: np.ndarray, origin_how: int | None) -> tuple[dict, list[str]]:
    notes = []
    new_group = np.r_[True, np.diff(np.floor(t)) > 0]
    starts = t[new_group]
    sizes = np.diff(np.r_[np.flatnonzero(new_group), t.size])
    span_s = max(float(t[-1] - t[0]), 3600.0)
    how0 = origin_how if origin_how is not None else 0
    if origin_how is None:
        notes.append("clock origin unknown: hours are counted from the first submission (phase not real)")
    hours = np.arange(int(np.ceil(span_s / 3600.0)))  # hours the log covers, to count exposure per hour-of-week
    exposure = np.bincount(hour_of_week(hours * 3600.0, how0), minlength=_WEEK_H).astype(np.float64)
    counts = np.bincount(hour_of_week(starts - t[0], how0), minlength=_WEEK_H).astype(np.float64)
    if span_s < 14 * 86_400:
        notes.append(f"log spans {span_s / 86_400:.1f} days (< 14): weekly cycle not fitted, hour-of-day only")
        hod_c = counts.reshape(7, 24).sum(axis=0)
        hod_e = exposure.reshape(7, 24).sum(axis=0)
        rate = np.tile(np.divide(hod_c, hod_e, out=np.zeros(24), where=hod_e > 0), 7)
    else:
        rate = np.divide(counts, exposure, out=np.zeros(_WEEK_H), where=exposure > 0)
    mean = float(rate.mean())
    vals, cnt = np.unique(np.minimum(sizes, 10_000), return_counts=True)
    return {"groups_per_s": mean / 3600.0, "jobs_per_group_mean": float(sizes.mean()),
            "hour_of_week_factor": [round(float(v / mean), 5) for v in rate] if mean > 0 else [1.0] * _WEEK_H,
            "group_sizes": [int(v) for v in vals], "group_size_probs": [float(f"{c / cnt.sum():.6g}") for c in cnt],
            "origin": "local clock (Monday 00h = hour 0)" if origin_how is not None else "first submission",
            "span_days": round(span_s / 86_400.0, 3)}, notes


def _shares(labels: np.ndarray, top: int | None = None) -> dict[str, float]:
    vals, cnt = np.unique(labels.astype(str), return_counts=True)
    order = np.argsort(-cnt, kind="stable")
    out = {str(vals[i]): float(f"{cnt[i] / cnt.sum():.6g}") for i in order[: top or len(order)]}
    rest = 1.0 - sum(out.values())
    if top and len(order) > top:
        out["other"] = float(f"{rest:.6g}")
    return out


def _file_sha256(path: str) -> str:
    """SHA-256 of the bytes the log's reader parsed (the fit runs inside ``dctwin.safeio.read_once``)."""
    from dctwin.safeio import MAX_JOB_FILE_BYTES, read_input

    return read_input(path, MAX_JOB_FILE_BYTES, what="job log").sha256


def fit_profile(log: TraceLog) -> dict:
    """The profile document (plain dict, YAML-ready) fitted to ``log``; InputError for fewer than ``MIN_FIT_JOBS``."""
    j = log.jobs
    if len(j) < MIN_FIT_JOBS:
        raise InputError(f"the log has {len(j):,} usable jobs, too few to fit a profile: at least {MIN_FIT_JOBS} are "
                         f"needed (a run-time class is fitted to at least {MIN_CLASS_JOBS} jobs: 91 body quantiles at "
                         "1 % steps and a tail, which fewer jobs can only fill by repeating their own run times)",
                         file=log.file, allowed=f"a log of {MIN_FIT_JOBS} jobs or more; replay a smaller log as it "
                         "is through workload.training.jobs_path")
    gpus = j["gpus"].to_numpy()
    dur = j["duration_s"].to_numpy()
    origin = None if log.t0 is None else log.t0.weekday() * 24 + log.t0.hour
    arrivals, notes = _arrivals(j["submit_s"].to_numpy(), origin)
    if not log.arrivals_known:
        arrivals.update(groups_per_s=0.0, hour_of_week_factor=[1.0] * _WEEK_H, group_sizes=[1],
                        group_size_probs=[1.0], origin="not fitted", span_days=None)
        notes = []
    vals, cnt = np.unique(gpus, return_counts=True)
    classes, lo = [], 0
    for hi in size_classes(gpus):
        m = (gpus > lo) & (gpus <= hi)
        c = fit_body_tail(dur[m])
        c.update(gpus_min=lo + 1, gpus_max=hi, kinds=_shares(j["kind"].to_numpy()[m]))
        classes.append(c)
        lo = hi
    wait = j["wait_s"].to_numpy()
    recorded = wait[np.isfinite(wait)]
    types = None
    if "gpu_type" in j.columns:  # shares of the GPU types jobs asked for ('any': blank)
        types = _shares(np.where(j["gpu_type"].to_numpy(dtype=str) == "", "any", j["gpu_type"].to_numpy(dtype=str)))
        notes = [*notes, "gpu_types: shares of the GPU types the log's jobs asked for; recorded, not drawn (a "
                 "generated job runs on the pool that draws it; replay the log through jobs_path to keep its types)"]
    doc = {
        "dctwin_workload_profile": PROFILE_VERSION,
        "source": {"file": Path(log.file).name, "sha256": _file_sha256(log.file), "format": log.format,
                   "jobs": len(j), "first_submit": None if log.t0 is None else log.t0.isoformat()},
        "notes": list(log.notes) + notes,
        "arrivals": arrivals,
        "gpus": {"values": [int(v) for v in vals], "probs": [float(f"{c / cnt.sum():.6g}") for c in cnt]},
        "runtime_classes": classes,
        "states": _shares(j["state"].to_numpy()),
        "tenants": _shares(j["tenant"].to_numpy(), TOP_TENANTS),
        "recorded_queue_wait_s": {k: round(v, 3) for k, v in summary(recorded).items()} if recorded.size else None,
        "scheduler_latency": fit_latency(recorded),
        "recorded_runtime_s": {k: round(v, 3) for k, v in summary(dur).items()},
    }
    if types is not None:
        doc["gpu_types"] = types
    return doc
