"""Recompute the fitted workload parameters from the shipped traces.

Run ``python -m dctwin.workload.fit`` to rewrite ``data/job_fits.yaml`` and
``data/token_fits.yaml`` (``--check`` only compares). Every fit is
deterministic (no random draws), so the files are reproducible byte for byte.

What is fitted, and to what:

* Development jobs (fine-tuning, evaluation, batch), per Acme cluster (Seren,
  Kalos; Hu et al., NSDI 2024, ``acme_cluster_summary.csv``): the tail ratio q
  of the log2-geometric GPU-count model to the published mean GPUs per job,
  and the log-normal duration model (mu0, slope per GPU doubling, sigma) to
  the published median run time, mean run time and GPU time per job
  ((complete + cancel + fail GPU time) / GPU jobs). The largest class is the
  cluster's largest job (1,024 GPUs); durations are clipped at its longest run.
  The one-GPU share cannot be identified from the summary (it gives only its
  median, 1 GPU, i.e. a share >= 0.5); it is an assumption, ``P_ONE_GPU``.
* Submission weekly cycle: weekend / weekday ratio of pod creations in the
  same trace (the two quietest consecutive days are taken as the weekend).
* Submission diurnal amplitude: first harmonic of hour-of-day pod creations
  in the Alibaba openb trace (Weng et al., ATC 2023). The trace clock's origin
  is not published, so only the amplitude is used, not the phase.
* Token mix per Azure LLM trace (code, conv; Patel et al., ISCA 2024): mean,
  median and p90 of input and output tokens, log-normal fits, request rate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import brentq, least_squares

from dctwin.workload.dists import dev_job_stats, size_probs
from dctwin.workload.traces import packaged_trace, read_azure_llm_trace

__all__ = ["compute_fits", "fit_acme_cluster", "fit_submission_diurnal", "fit_submission_weekly", "fit_token_profile",
           "main"]

DATA = Path(__file__).parent / "data"
P_ONE_GPU = 0.55  # assumption: just above the 0.5 implied by Acme's median of 1 GPU per job

ACME_SOURCE = ("Hu et al., 'Characterization of Large Language Model Development in the Datacenter', NSDI 2024; "
               "github.com/InternLM/AcmeTrace data/cluster_summary.csv (CC BY 4.0)")
OPENB_SOURCE = ("Weng et al., 'Beware of Fragmentation', USENIX ATC 2023; github.com/alibaba/clusterdata "
                "cluster-trace-gpu-v2023/csv/openb_pod_list_default.csv")
AZURE_SOURCE = ("Patel et al., 'Splitwise', ISCA 2024; Azure Public Dataset (github.com/Azure/AzurePublicDataset) "
                "data/AzureLLMInferenceTrace_{name}.csv (CC BY 4.0)")


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def fit_acme_cluster(row: pd.Series) -> dict:
    """Fit the development-job model to one row of the Acme cluster summary."""
    k_max = round(float(np.log2(float(row["max_gpu"]))))
    max_s = float(row["max_run_time_gpu"])
    target = {
        "mean_gpus": float(row["avg_gpu_num"]),
        "median_gpus": float(row["med_gpu_num"]),
        "median_duration_s": float(row["med_run_time_gpu"]),
        "mean_duration_s": float(row["avg_run_time_gpu"]),
        "gpu_s_per_job": float(row["complete_gpu_time"] + row["cancel_gpu_time"] + row["fail_gpu_time"])
        / float(row["gpu_job_num"]),
    }
    k = np.arange(k_max + 1)

    def mean_gpus(q: float) -> float:
        return float(np.sum(size_probs(P_ONE_GPU, q, k_max) * 2.0**k)) - target["mean_gpus"]

    q = brentq(mean_gpus, 1e-6, 10.0, xtol=1e-12)

    def resid(x: np.ndarray) -> np.ndarray:
        s = dev_job_stats(P_ONE_GPU, q, k_max, x[0], x[1], x[2], max_s)
        return np.log([s["median_duration_s"] / target["median_duration_s"],
                       s["mean_duration_s"] / target["mean_duration_s"],
                       s["gpu_s_per_job"] / target["gpu_s_per_job"]])

    x0 = np.array([np.log(target["median_duration_s"]), 0.5, 2.0])
    sol = least_squares(resid, x0, bounds=([-5, -3, 0.05], [20, 5, 6]), xtol=1e-12, ftol=1e-12)
    mu0, slope, sigma = (float(v) for v in sol.x)
    got = dev_job_stats(P_ONE_GPU, q, k_max, mu0, slope, sigma, max_s)
    return {
        "source": ACME_SOURCE,
        "cluster": str(row["id"]),
        "size": {"p_one_gpu": P_ONE_GPU, "p_one_gpu_note": "assumption: Acme gives only the median (1 GPU)",
                 "q": _sig(q), "k_max": k_max},
        "duration": {"mu0": _sig(mu0), "slope_per_doubling": _sig(slope), "sigma": _sig(sigma),
                     "max_s": max_s},
        "target": {key: _sig(v) for key, v in target.items()},
        "model": {key: _sig(v) for key, v in got.items()},
        "max_fit_error": _sig(float(np.max(np.abs(np.expm1(resid(sol.x))))), 3),
    }


def fit_submission_diurnal(creation_time_s: np.ndarray) -> dict:
    """Relative amplitude of the first daily harmonic of job submissions [-] (peak = mean·(1 + a))."""
    hour = (np.asarray(creation_time_s, dtype=np.float64) % 86_400.0) / 3600.0
    counts = np.bincount(hour.astype(int), minlength=24)[:24].astype(np.float64)
    phase = 2 * np.pi * (np.arange(24) + 0.5) / 24
    c1 = np.sum(counts * np.exp(-1j * phase)) / counts.sum()
    amp = float(2 * np.abs(c1))
    return {"source": OPENB_SOURCE, "amplitude": _sig(amp, 4), "pods": int(counts.sum()),
            "peak_to_trough": _sig((1 + amp) / (1 - amp), 4),
            "note": "first harmonic of hour-of-day pod creations; the trace clock's origin (time zone, start "
                    "hour) is not published, so the phase is not used"}


def fit_token_profile(name: str) -> dict:
    """Token statistics of one Azure LLM trace (``name`` in {'code', 'conv'})."""
    df = read_azure_llm_trace(packaged_trace(f"AzureLLMInferenceTrace_{name}.csv.gz"))
    out: dict = {"source": AZURE_SOURCE.format(name=name), "requests": len(df)}
    for col in ("input_tokens", "output_tokens"):
        x = df[col].to_numpy(dtype=np.float64)
        lx = np.log(np.maximum(x, 1.0))
        out[col] = {"mean": _sig(x.mean()), "median": _sig(float(np.median(x))),
                    "p90": _sig(float(np.quantile(x, 0.9))), "lognormal_mu": _sig(lx.mean()),
                    "lognormal_sigma": _sig(lx.std())}
    span = float(df["t_s"].max() - df["t_s"].min())
    out["requests_per_s"] = _sig(len(df) / span)
    gaps = np.diff(df["t_s"].to_numpy())
    out["interarrival_cv"] = _sig(float(gaps.std() / gaps.mean()), 4)
    return out


def fit_submission_weekly(creation_time_s: np.ndarray) -> dict:
    """Weekend submissions relative to weekdays [-], from whole weeks of the trace.

    The trace's weekday at t = 0 is not published; the weekend is taken as the
    two consecutive days of the week with the fewest submissions.
    """
    t = np.asarray(creation_time_s, dtype=np.float64)
    week = 7 * 86_400.0
    t = t[t < np.floor(t.max() / week) * week]
    counts = np.bincount(((t // 86_400.0) % 7).astype(int), minlength=7).astype(np.float64)
    pair = counts + np.roll(counts, -1)
    i = int(np.argmin(pair))
    factor = (pair[i] / 2) / ((counts.sum() - pair[i]) / 5)
    return {"source": OPENB_SOURCE, "weekend_factor": _sig(float(factor), 4), "whole_weeks": int(t.max() // week) + 1,
            "pods": int(t.size), "day_counts": [int(c) for c in counts],
            "note": "mean of the two consecutive quietest days over the mean of the other five; the weekday of "
                    "the trace's t = 0 is not published"}


def compute_fits() -> tuple[dict, dict]:
    """(job fits, token fits) from the shipped traces."""
    acme = pd.read_csv(packaged_trace("acme_cluster_summary.csv")).set_index("id", drop=False)
    pods = pd.read_csv(packaged_trace("openb_pod_list_default.csv.gz"))
    jobs = {
        "about": "Fitted by dctwin.workload.fit from the traces in data/traces (see README there). Do not edit "
                 "by hand: rerun `python -m dctwin.workload.fit`.",
        "dev_jobs": {c.lower(): fit_acme_cluster(acme.loc[c]) for c in ("Kalos", "Seren")},
        "submission_diurnal": fit_submission_diurnal(pods["creation_time"].to_numpy()),
        "submission_weekly": fit_submission_weekly(pods["creation_time"].to_numpy()),
    }
    tokens = {
        "about": jobs["about"],
        "profiles": {name: fit_token_profile(name) for name in ("code", "conv")},
    }
    return jobs, tokens


def _dump(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored files, write nothing")
    args = ap.parse_args(argv)
    jobs, tokens = compute_fits()
    status = 0
    for name, doc in (("job_fits.yaml", jobs), ("token_fits.yaml", tokens)):
        path = DATA / name
        text = _dump(doc)
        if args.check:
            same = path.is_file() and path.read_text(encoding="utf-8") == text
            print(f"{name}: {'up to date' if same else 'DIFFERS'}")
            status |= 0 if same else 1
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
