"""Inference services and their demand curves: requests and tokens per second at every step.

Demand of one service at time t [req/s]:

    peak_requests_per_s × diurnal(h) × weekly(d) × (1 + growth_per_year)^(t / 1 year) × noise

* diurnal(h) = (1 + a·cos(2π(h − peak_hour)/24)) / (1 + a), with a set by the
  peak:trough ratio R as a = (R − 1)/(R + 1). R is an ASSUMPTION (default 2.5):
  no numeric ratio was found in the sources (dossier §6c, gap 9: "2:1 to 3:1 is
  common but unsourced"); the Alibaba openb submissions show 2.7:1 on the same
  one-harmonic measure (``data/job_fits.yaml``), and SageServe (arXiv 2502.14617)
  and BurstGPT (arXiv 2401.17644) report clear diurnal and weekly periodicity.
* weekly(d) = 1 on weekdays, ``weekend_factor`` on Saturday and Sunday (ASSUMPTION, default 0.7).
* noise: log-normal, mean 1, coefficient of variation ``noise_cv``, independent per step.

Tokens per request follow the service's Azure LLM trace profile (``data/token_fits.yaml``:
mean input and output tokens of the code or conversation trace, Patel et al., ISCA 2024).
The Azure trace spans one hour, so it fixes the token mix but not the daily shape.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.config.workload import WorkloadConfig
from dctwin.rng import stream
from dctwin.timeline import Timeline
from dctwin.workload.params import token_fits

__all__ = ["DEMAND_SUFFIXES", "SERVICE_COLUMNS", "inference_demand", "services"]

SECONDS_PER_YEAR = 365.25 * 86_400.0
DEMAND_SUFFIXES = ("requests_per_s", "input_tokens_per_s", "output_tokens_per_s")
SERVICE_COLUMNS = ("model", "token_profile", "mean_input_tokens", "mean_output_tokens", "ttft_ms", "tpot_ms",
                   "peak_requests_per_s", "growth_per_year", "prefill_gpus", "decode_gpus", "layout_tp", "layout_pp")


def services(workload: WorkloadConfig) -> pd.DataFrame:
    """One row per inference service (index: service name) with the columns of ``SERVICE_COLUMNS``.

    mean_input_tokens / mean_output_tokens are per request [tokens]; ttft_ms and
    tpot_ms are the latency targets [ms]; peak_requests_per_s [req/s]; layout_tp, layout_pp the replica layout
    set (0, 0: 'auto').
    """
    profiles = token_fits()["profiles"]
    means = {s.service: _token_means(s, profiles) for s in workload.inference}
    for s in workload.inference:
        if s.profile_path is not None:
            _shape_fields(s)  # refuses a field set that the profile's fitted shape replaces, before the run
    rows = {
        s.service: {
            "model": s.model,
            "token_profile": s.token_profile if s.profile_path is None else str(s.profile_path),
            "mean_input_tokens": means[s.service][0],
            "mean_output_tokens": means[s.service][1],
            "ttft_ms": s.ttft_ms,
            "tpot_ms": s.tpot_ms,
            "peak_requests_per_s": s.peak_requests_per_s,
            "growth_per_year": s.growth_per_year,
            "prefill_gpus": s.disaggregated.prefill_gpus if s.disaggregated else 0,   # 0: colocated
            "decode_gpus": s.disaggregated.decode_gpus if s.disaggregated else 0,
            "layout_tp": 0 if s.layout == "auto" else s.layout.tp,   # 0: the automatic choice
            "layout_pp": 0 if s.layout == "auto" else s.layout.pp,
        }
        for s in workload.inference
    }
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(SERVICE_COLUMNS))
    df.index.name = "service"
    return df


def _service_profile(svc) -> dict | None:
    """The service's fitted inference profile (``profile_path``), or None."""
    if svc.profile_path is None:
        return None
    from dctwin.config.load import parse_yaml_text
    from dctwin.errors import InputError
    from dctwin.safeio import MAX_SERIES_BYTES, read_input

    file = str(svc.profile_path)
    try:  # a regular file, size-capped, read once; duplicate keys refused as in a scenario file
        doc = parse_yaml_text(read_input(file, MAX_SERIES_BYTES, what="inference profile").data.decode("utf-8"), file)
    except UnicodeDecodeError as exc:
        raise InputError(f"inference profile is not UTF-8 text (byte {exc.start})", file=file) from None
    if not isinstance(doc, dict):
        raise InputError("inference profile must be a mapping", file=file, value=type(doc).__name__)
    if doc.get("dctwin_inference_profile") != 1:
        raise InputError("not an inference profile (from `dctwin workload fit` on a request log)",
                         file=str(svc.profile_path), field="dctwin_inference_profile",
                         value=doc.get("dctwin_inference_profile"), allowed="1")
    _check_used_fields(doc, str(svc.profile_path))
    return doc


# the profile's fields a run uses, with the ranges the scenario's own fields allow (InferenceServiceConfig)
_USED = {"peak_to_trough": (1.0, 20.0), "peak_hour": (0.0, 24.0), "weekend_factor": (1e-12, 2.0)}
_TOKENS = (1.0, 1e7)  # mean tokens per request: one token up to ten times the longest context served


def _check_used_fields(doc: dict, file: str) -> None:
    """InputError for a used number that is not finite or outside its range (an inf peak-to-trough ended in a
    NaN GPU count named after an internal array, not the file)."""
    from dctwin.errors import InputError

    found = {k: (doc.get(k), lo, hi) for k, (lo, hi) in _USED.items() if doc.get(k) is not None}
    tokens = doc.get("tokens") or {}
    for col in ("input_tokens", "output_tokens") if tokens else ():
        found[f"tokens.{col}.log.mean"] = ((((tokens.get(col) or {}).get("log") or {}).get("mean")), *_TOKENS)
    for field, (v, lo, hi) in found.items():
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and lo <= v <= hi
        if not ok or (field == "peak_hour" and v >= 24.0):
            raise InputError("number out of range in the inference profile", file=file, field=field,
                             value=v if isinstance(v, (int, float, str, type(None))) else type(v).__name__,
                             allowed=f"a number from {lo:g} to {hi:g}" + (" (below 24)" if field == "peak_hour"
                                                                          else ""))


def _token_means(svc, profiles: dict) -> tuple[float, float]:
    """Mean input and output tokens per request: the profile's recorded means, else the token profile's."""
    doc = _service_profile(svc)
    if doc is not None and doc.get("tokens"):
        _refuse_replaced(svc, ["token_profile"])
        return (float(doc["tokens"]["input_tokens"]["log"]["mean"]),
                float(doc["tokens"]["output_tokens"]["log"]["mean"]))
    p = profiles[svc.token_profile]
    return float(p["input_tokens"]["mean"]), float(p["output_tokens"]["mean"])


def _shape_fields(svc) -> tuple[float, float, float]:
    """(peak_to_trough, peak_hour, weekend_factor): fitted where the profile has them, else the service's fields."""
    doc = _service_profile(svc) or {}
    names = ("peak_to_trough", "peak_hour", "weekend_factor")
    pick = [doc.get(k) for k in names]
    own = [getattr(svc, k) for k in names]
    _refuse_replaced(svc, [k for k, v in zip(names, pick, strict=True) if v is not None])
    return tuple(float(own[i] if v is None else v) for i, v in enumerate(pick))


def _refuse_replaced(svc, replaced: list[str]) -> None:
    """InputError for a field the service sets (not its default) that its profile's fitted value replaces: the value
    set would not be used."""
    from dctwin.errors import InputError

    fields = type(svc).model_fields
    unused = [k for k in replaced if getattr(svc, k) != fields[k].default]
    if unused:
        raise InputError(f"the inference profile's fitted values replace {', '.join(unused)}, so the value set "
                         "would not be used", file=str(svc.profile_path), field=f"workload.inference '{svc.service}'",
                         value={k: getattr(svc, k) for k in unused}, allowed="remove them, or the profile_path")


def daily_weekly_shape(t_s: np.ndarray, start_weekday: int, peak_to_trough: float, peak_hour: float,
                       weekend_factor: float) -> np.ndarray:
    """Demand relative to the weekday peak at times ``t_s`` after a local midnight [-]."""
    t_s = np.asarray(t_s, dtype=np.float64)
    a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0)
    h = (t_s % 86_400.0) / 3600.0
    diurnal = (1.0 + a * np.cos(2 * np.pi * (h - peak_hour) / 24.0)) / (1.0 + a)
    weekday = (start_weekday + (t_s // 86_400.0).astype(np.int64)) % 7
    return diurnal * np.where(weekday >= 5, weekend_factor, 1.0)


def inference_demand(workload: WorkloadConfig, timeline: Timeline, seed: int) -> pd.DataFrame:
    """Demand of every service at each step (index: ``timeline.timestamps``).

    Columns ``<svc>__requests_per_s`` [req/s], ``<svc>__input_tokens_per_s`` and
    ``<svc>__output_tokens_per_s`` [tokens/s], evaluated at the middle of each step.
    Draws from ``stream(seed, "inference")``, one standard-normal block per service in order.
    """
    rng = stream(seed, "inference")
    t_mid = timeline.t_s.astype(np.float64) + 0.5 * timeline.step_s
    start_weekday = timeline.start.weekday()
    table = services(workload)
    cols: dict[str, np.ndarray] = {}
    for svc in workload.inference:
        shape = daily_weekly_shape(t_mid, start_weekday, *_shape_fields(svc))
        growth = (1.0 + svc.growth_per_year) ** (t_mid / SECONDS_PER_YEAR)
        z = rng.standard_normal(timeline.n_steps)
        s2 = np.log1p(svc.noise_cv**2)
        noise = np.exp(np.sqrt(s2) * z - 0.5 * s2)
        rps = svc.peak_requests_per_s * shape * growth * noise
        row = table.loc[svc.service]
        cols[f"{svc.service}__requests_per_s"] = rps
        cols[f"{svc.service}__input_tokens_per_s"] = rps * row["mean_input_tokens"]
        cols[f"{svc.service}__output_tokens_per_s"] = rps * row["mean_output_tokens"]
    return pd.DataFrame(cols, index=timeline.timestamps)
