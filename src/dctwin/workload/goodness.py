"""Goodness of fit of a workload profile against its log: KS distance, percentiles, arrivals by hour; a figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dctwin.workload.formats import TraceLog
from dctwin.workload.profile import hour_of_week
from dctwin.workload.profile_gen import generate_from_profile
from dctwin.workload.tails import quantile, summary

__all__ = ["arrivals_by_hour", "fit_report", "write_figure"]

_P = (np.arange(100_000) + 0.5) / 100_000


def _ks(x: np.ndarray, model_sorted: np.ndarray) -> float:
    """Largest |F_log − F_model| over the log's values [-] (model CDF from its quantile grid)."""
    x = np.sort(x)
    f_log = np.arange(1, x.size + 1) / x.size
    f_mod = np.searchsorted(model_sorted, x, side="right") / model_sorted.size
    return float(np.max(np.abs(np.r_[f_log - f_mod, f_log - 1.0 / x.size - f_mod])))


def arrivals_by_hour(submit_s: np.ndarray, span_s: float, origin_how: int = 0) -> np.ndarray:
    """Mean jobs submitted per hour at each hour of day 0..23 [jobs/h]."""
    h = hour_of_week(submit_s, origin_how) % 24
    days = max(span_s / 86_400.0, 1.0 / 24)
    return np.bincount(h, minlength=24)[:24] / days


def fit_report(log: TraceLog, profile: dict, seed: int = 0) -> dict:
    """Rows for the fit table: per run-time class and overall (log vs model), KS; arrivals by hour."""
    j = log.jobs
    gpus, dur = j["gpus"].to_numpy(), j["duration_s"].to_numpy()
    rows = []
    for c in profile["runtime_classes"]:
        m = (gpus >= c["gpus_min"]) & (gpus <= c["gpus_max"])
        q = quantile(c, _P)
        rows.append({"class": f"{c['gpus_min']}-{c['gpus_max']} GPUs", "jobs": int(m.sum()), "ks": _ks(dur[m], q),
                     "log": summary(dur[m]), "model": {**summary(q)}})
    span = float(j["submit_s"].max()) if len(j) else 0.0
    gen = generate_from_profile(profile, max(span, 3600.0), np.random.default_rng(seed))
    allq = np.sort(gen["duration_s"])
    rows.append({"class": "all", "jobs": len(j), "ks": _ks(dur, allq), "log": summary(dur),
                 "model": summary(allq)})
    return {"rows": rows, "hour_log": arrivals_by_hour(j["submit_s"].to_numpy(), span),
            "hour_model": arrivals_by_hour(gen["submit_s"], span), "generated_jobs": int(gen["submit_s"].size)}


def write_figure(log: TraceLog, profile: dict, report: dict, path: Path) -> Path:
    """Three panels: run-time CDF (log vs model), arrivals by hour of day, GPUs per job."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    x = np.sort(log.jobs["duration_s"].to_numpy())
    ax[0].plot(x, np.arange(1, x.size + 1) / x.size, label="log")
    gen = np.sort(generate_from_profile(profile, max(float(log.jobs["submit_s"].max()), 3600.0),
                                        np.random.default_rng(1))["duration_s"])
    ax[0].plot(gen, np.arange(1, gen.size + 1) / max(gen.size, 1), "--", label="profile")
    ax[0].set(xscale="log", xlabel="run time [s]", ylabel="share of jobs at or below [-]", title="Run time")
    ax[1].plot(range(24), report["hour_log"], "o-", label="log")
    ax[1].plot(range(24), report["hour_model"], "s--", label="profile")
    ax[1].set(xlabel="hour of day [h]", ylabel="jobs submitted per hour [1/h]", title="Arrivals by hour")
    vals, probs = profile["gpus"]["values"], profile["gpus"]["probs"]
    ax[2].bar([str(v) for v in vals], probs)
    ax[2].set(xlabel="GPUs per job [GPU]", ylabel="share of jobs [-]", title="Job size", yscale="log")
    for a in ax[:2]:
        a.legend()
    fig.suptitle(f"Workload profile fit: {Path(log.file).name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
