"""Draw jobs from a fitted workload profile (``dctwin.workload.profile``), and read a profile file.

Arrivals: a Poisson number of submission groups per hour, with mean
``groups_per_s`` × 3600 × the hour-of-week factor × ``rate_scale``, placed
uniformly in the hour; each group brings a drawn number of jobs at the same
second. GPUs per job from the recorded shares; run time from the job's size
class (body-tail model); kind and tenant from their shares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dctwin.errors import InputError
from dctwin.workload.profile import PROFILE_VERSION, hour_of_week
from dctwin.workload.profile_check import check_profile_numbers
from dctwin.workload.tails import quantile, sample

__all__ = ["generate_from_profile", "load_profile", "mean_gpu_s_per_job", "mean_jobs_per_s"]

_P_GRID = (np.arange(20_000) + 0.5) / 20_000


def load_profile(path: str | Path) -> dict:
    """Read and check a profile file; InputError names the file and the bad key."""
    from dctwin.config.load import parse_yaml_text
    from dctwin.safeio import MAX_SERIES_BYTES, read_input

    file = str(path)
    # a user's file: regular, size-capped, read with a timeout, once per run (dctwin.safeio.read_once)
    try:  # duplicate keys, alias bombs and ambiguous numbers refused as in a scenario file
        doc = parse_yaml_text(read_input(path, MAX_SERIES_BYTES, what="workload profile").data.decode("utf-8"), file)
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read workload profile: {exc}", file=file) from None
    if not isinstance(doc, dict):
        raise InputError("workload profile must be a mapping", file=file, value=type(doc).__name__)
    if doc.get("dctwin_workload_profile") != PROFILE_VERSION:
        raise InputError("not a workload profile of this version", file=file, field="dctwin_workload_profile",
                         value=doc.get("dctwin_workload_profile"), allowed=str(PROFILE_VERSION))
    try:
        arr = doc["arrivals"]
        fac = np.asarray(arr["hour_of_week_factor"], dtype=np.float64)
        probs = np.asarray(doc["gpus"]["probs"], dtype=np.float64)
        ok = (fac.shape == (168,) and np.all(fac >= 0) and float(arr["groups_per_s"]) >= 0
              and len(doc["gpus"]["values"]) == probs.size and abs(probs.sum() - 1) < 1e-3 and doc["runtime_classes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed workload profile: {exc!r}", file=file) from None
    if not ok:
        raise InputError("malformed workload profile (168 hour-of-week factors >= 0, GPU shares summing to 1, "
                         "at least one run-time class)", file=file)
    try:
        check_profile_numbers(doc, file)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"malformed workload profile: missing or mistyped {exc!s}", file=file) from None
    return doc


def mean_jobs_per_s(profile: dict) -> float:
    """Mean submission rate of the profile [jobs/s]."""
    a = profile["arrivals"]
    sizes = np.asarray(a["group_sizes"], dtype=np.float64)
    return float(a["groups_per_s"]) * float(np.sum(sizes * np.asarray(a["group_size_probs"])))


def _class_of(profile: dict, gpus: np.ndarray) -> np.ndarray:
    tops = np.asarray([c["gpus_max"] for c in profile["runtime_classes"]])
    return np.minimum(np.searchsorted(tops, gpus, side="left"), tops.size - 1)


def mean_gpu_s_per_job(profile: dict) -> float:
    """Mean GPU-seconds per job of the profile [GPU·s]."""
    g = np.asarray(profile["gpus"]["values"], dtype=np.int64)
    p = np.asarray(profile["gpus"]["probs"], dtype=np.float64)
    means = np.array([quantile(c, _P_GRID).mean() for c in profile["runtime_classes"]])
    return float(np.sum(p * g * means[_class_of(profile, g)]))


def _draw(rng: np.random.Generator, shares: dict, n: int) -> np.ndarray:
    names = list(shares)
    w = np.asarray([shares[k] for k in names], dtype=np.float64)
    idx = np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right")
    return np.asarray(names, dtype=object)[np.minimum(idx, len(names) - 1)]


def generate_from_profile(profile: dict, span_s: float, rng: np.random.Generator, *, start_how: int = 0,
                          rate_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Jobs submitted in [0, span_s): submit_s [s] (sorted), gpus, duration_s [s], kind and tenant labels.

    ``start_how``: hour of the week (Monday 00h = 0) at t = 0.
    """
    a = profile["arrivals"]
    n_hours = int(np.ceil(span_s / 3600.0))
    hour_t = np.arange(n_hours) * 3600.0
    fac = np.asarray(a["hour_of_week_factor"], dtype=np.float64)[hour_of_week(hour_t, start_how)]
    n_groups = rng.poisson(float(a["groups_per_s"]) * 3600.0 * rate_scale * fac)
    t = np.repeat(hour_t, n_groups) + rng.random(int(n_groups.sum())) * 3600.0
    t = np.sort(t[t < span_s])
    sizes = np.asarray(a["group_sizes"], dtype=np.int64)
    gp = np.asarray(a["group_size_probs"], dtype=np.float64)
    k = sizes[np.minimum(np.searchsorted(np.cumsum(gp / gp.sum()), rng.random(t.size), side="right"), sizes.size - 1)]
    submit = np.repeat(t, k)
    n = submit.size
    g_vals = np.asarray(profile["gpus"]["values"], dtype=np.int64)
    g_p = np.asarray(profile["gpus"]["probs"], dtype=np.float64)
    gpus = g_vals[np.minimum(np.searchsorted(np.cumsum(g_p / g_p.sum()), rng.random(n), side="right"), g_vals.size - 1)]
    cls = _class_of(profile, gpus)
    dur = np.empty(n)
    kind = np.empty(n, dtype=object)
    for i, c in enumerate(profile["runtime_classes"]):
        m = cls == i
        dur[m] = np.maximum(sample(c, rng, int(m.sum())), 1.0)
        kind[m] = _draw(rng, c.get("kinds") or {"": 1.0}, int(m.sum()))
    tenant = _draw(rng, profile.get("tenants") or {"default": 1.0}, n)
    return {"submit_s": submit, "gpus": gpus, "duration_s": dur, "kind": kind, "tenant": tenant}
