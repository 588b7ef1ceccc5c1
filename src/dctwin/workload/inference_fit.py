"""Fit an inference-demand profile to a request log or a QPS log: rate, daily/weekly shape, bursts, token mixes.

Inputs: a request log in the Azure LLM format (``TIMESTAMP, ContextTokens,
GeneratedTokens``; one row per request) or a QPS log (CSV with ``timestamp``
(date or seconds) and ``requests`` (count in the row's interval) columns, rows
at a fixed interval). What is fitted, each only when the log can show it:

* mean rate [req/s]; hour-of-day factors, peak-to-trough ratio (peak hour over
  trough hour of the hour-of-day means) and peak hour when the log covers at
  least 2 days; weekend factor (Saturday+Sunday over Monday-Friday) and
  hour-of-week factors when it covers at least 14 days. A shorter log leaves
  them null and says so: a scenario then keeps its own (assumed) values.
* bursts (request logs only): index of dispersion (variance over mean of the
  request count) and 99th-percentile-over-mean count in 1 s, 10 s and 60 s
  windows, and the coefficient of variation of the gaps between requests
  (1 for a Poisson process).
* token mixes (request logs only): input and output tokens per request as a
  mixture of up to three log-normals fitted by expectation-maximisation on
  log tokens (components chosen by BIC), with log-vs-model p50/p90/mean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.timeparse import parse_timestamps
from dctwin.workload.traces import _numbers, _read_table, _where, read_azure_llm_trace

__all__ = ["INFERENCE_PROFILE_VERSION", "MIN_FIT_REQUESTS", "fit_inference_profile",
           "lognormal_mixture", "read_request_log"]

INFERENCE_PROFILE_VERSION = 1
MIN_FIT_REQUESTS = 100  # token mixes: 8 parameters at most and a p90 with 10 requests beyond it


def _first_request(stamps: pd.Series, file: str, is_csv: bool) -> pd.Timestamp:
    """The first request's time [UTC] by the one set of timestamp rules (``dctwin.timeparse``)."""
    return parse_timestamps(stamps, file=file, where=lambda i: f"{_where(i, is_csv)}, timestamp", naive=0.0).min()


def read_request_log(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, pd.DataFrame | None, datetime | None]:
    """(bin times [s from start], requests per bin or None for one row per request, tokens or None, start)."""
    p = Path(path)
    df, file, is_csv = _read_table(p)
    cols = {c.strip().lower(): c for c in df.columns}
    if {"timestamp", "contexttokens", "generatedtokens"} <= set(cols):
        req = read_azure_llm_trace(p)
        first = _first_request(df[cols["timestamp"]], file, is_csv)
        start = None if pd.isna(first) else first.tz_convert(None).to_pydatetime()  # UTC, naive
        return req["t_s"].to_numpy(), None, req, start
    if "timestamp" in cols and "requests" in cols:
        df = df.rename(columns={cols["timestamp"]: "timestamp", cols["requests"]: "requests"})
        from dctwin.workload.formats import _times

        t = _times(df, "timestamp", file, is_csv, True)
        n = _numbers(df, "requests", file, is_csv, minimum=0)
        back = np.flatnonzero(np.diff(t) <= 0)
        if back.size:
            raise InputError(f"{_where(int(back[0]) + 1, is_csv)}: timestamps must increase", file=file,
                             field="timestamp", value=df["timestamp"].iloc[int(back[0]) + 1])
        raw = pd.to_numeric(df["timestamp"], errors="coerce")
        start = None if raw.notna().all() else datetime.fromtimestamp(float(t[0]), UTC).replace(tzinfo=None)
        return t - t[0], n, None, start
    raise InputError("not a request log: need TIMESTAMP, ContextTokens, GeneratedTokens (Azure LLM) or "
                     "timestamp, requests (QPS log)", file=file, value=list(df.columns)[:8])


def lognormal_mixture(x: np.ndarray, max_k: int = 3, iters: int = 300) -> dict:
    """Mixture of log-normals fitted to positive ``x`` (EM on log x, k = 1..max_k by BIC)."""
    y = np.log(np.maximum(np.asarray(x, dtype=np.float64), 1.0))
    best = None
    for k in range(1, max_k + 1):
        w = np.full(k, 1.0 / k)
        mu = np.quantile(y, (np.arange(k) + 0.5) / k)
        sd = np.full(k, max(y.std(), 1e-3))
        for _ in range(iters):
            ll = np.log(w) - np.log(sd) - 0.5 * ((y[:, None] - mu) / sd) ** 2
            top = ll.max(axis=1, keepdims=True)
            r = np.exp(ll - top)
            r /= r.sum(axis=1, keepdims=True)
            nk = r.sum(axis=0) + 1e-12
            old = mu
            w, mu = nk / y.size, (r * y[:, None]).sum(axis=0) / nk
            sd = np.sqrt(np.maximum((r * (y[:, None] - mu) ** 2).sum(axis=0) / nk, 1e-4))
            if np.max(np.abs(mu - old)) < 1e-7:
                break
        loglik = float((top[:, 0] + np.log(np.exp(ll - top).sum(axis=1))).sum() - 0.5 * y.size * np.log(2 * np.pi))
        bic = -2 * loglik + (3 * k - 1) * np.log(y.size)
        if best is None or bic < best[0] - 10.0:  # a component must earn its three parameters clearly
            best = (bic, w, mu, sd)
    _, w, mu, sd = best
    order = np.argsort(mu)
    return {"weights": [round(float(v), 6) for v in w[order]], "log_mu": [round(float(v), 6) for v in mu[order]],
            "log_sigma": [round(float(v), 6) for v in sd[order]]}


def _mixture_stats(m: dict, rng: np.random.Generator, n: int = 200_000) -> dict[str, float]:
    w = np.asarray(m["weights"])
    c = np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(n)), w.size - 1)
    z = np.exp(np.asarray(m["log_mu"])[c] + np.asarray(m["log_sigma"])[c] * rng.standard_normal(n))
    return {"p50": float(np.median(z)), "p90": float(np.quantile(z, 0.9)), "mean": float(z.mean())}


def _bursts(t: np.ndarray) -> dict:
    out = {}
    for win in (1, 10, 60):
        c = np.bincount((t // win).astype(np.int64)).astype(np.float64)
        out[f"window_{win}s"] = {"dispersion_index": round(float(c.var() / c.mean()), 4),
                                 "p99_over_mean": round(float(np.quantile(c, 0.99) / c.mean()), 4)}
    gaps = np.diff(t)
    out["interarrival_cv"] = round(float(gaps.std() / gaps.mean()), 4) if gaps.size > 1 else None
    return out


def _shape(t: np.ndarray, n: np.ndarray, start: datetime | None, span_s: float) -> tuple[dict, list[str]]:
    """Hour-of-day / weekly factors from (bin time, count); nulls and notes when the log is too short."""
    days = span_s / 86_400.0
    out = {"peak_to_trough": None, "peak_hour": None, "hour_of_day_factor": None, "weekend_factor": None}
    if days < 2:
        return out, [f"the log spans {span_s / 3600:.1f} h (< 2 days): no daily or weekly shape fitted; "
                     "scenarios keep their own peak_to_trough, peak_hour and weekend_factor"]
    notes = [] if start is not None else ["clock origin unknown: hours counted from the first request"]
    h0 = 0 if start is None else start.hour + start.minute / 60
    hour = ((h0 + t / 3600.0) % 24).astype(int)
    expo = np.bincount(hour, minlength=24).astype(np.float64)
    per_h = np.bincount(hour, weights=n, minlength=24) / np.maximum(expo, 1)
    per_h = per_h / per_h.mean()
    out.update(peak_to_trough=round(float(per_h.max() / max(per_h.min(), 1e-9)), 4),
               peak_hour=int(np.argmax(per_h)), hour_of_day_factor=[round(float(v), 5) for v in per_h])
    if days >= 14 and start is not None:
        wd = (start.weekday() + (start.hour * 3600 + t) // 86_400).astype(int) % 7
        rate = np.bincount(wd, weights=n, minlength=7) / np.maximum(np.bincount(wd, minlength=7), 1)
        out["weekend_factor"] = round(float(rate[5:].mean() / rate[:5].mean()), 4)
    else:
        notes.append("weekend factor not fitted (needs 14 days with real dates)")
    return out, notes


def fit_inference_profile(path: str | Path) -> dict:
    """The inference profile document (YAML-ready) of a request or QPS log."""
    t, counts, req, start = read_request_log(path)
    if t.size < 2:
        raise InputError("a request log needs at least two rows", file=str(path))
    if req is not None and len(req) < MIN_FIT_REQUESTS:
        raise InputError(f"the log has {len(req):,} requests, too few to fit token mixes: at least "
                         f"{MIN_FIT_REQUESTS} are needed (up to three log-normals per token count, 8 parameters, "
                         "and a p90 that rests on 10 requests beyond it)", file=str(path),
                         allowed=f"a request log of {MIN_FIT_REQUESTS} requests or more, or a QPS log "
                         "(timestamp, requests) for the rate alone")
    if counts is None:
        step = 60.0
        counts_b = np.bincount((t // step).astype(np.int64)).astype(np.float64)
        t_b = np.arange(counts_b.size) * step
        span = float(t[-1] - t[0])
    else:
        step = float(np.median(np.diff(t)))
        t_b, counts_b, span = t, counts, float(t[-1] - t[0] + step)
    shape, notes = _shape(t_b, counts_b, start, span)
    doc = {"dctwin_inference_profile": INFERENCE_PROFILE_VERSION,
           "source": {"file": Path(path).name, "kind": "QPS log" if counts is not None else "request log",
                      "first": None if start is None else start.isoformat(), "span_h": round(span / 3600, 4)},
           "notes": notes, "requests_per_s": round(float(counts_b.sum() / span), 6), **shape,
           "bursts": _bursts(t) if counts is None else None, "tokens": None}
    if req is not None:
        rng = np.random.default_rng(0)
        doc["tokens"] = {}
        for col in ("input_tokens", "output_tokens"):
            x = req[col].to_numpy(dtype=np.float64)
            mix = lognormal_mixture(x)
            doc["tokens"][col] = {**mix, "log": {"p50": float(np.median(x)), "p90": float(np.quantile(x, 0.9)),
                                                 "mean": float(x.mean())},
                                  "model": {k: round(v, 2) for k, v in _mixture_stats(mix, rng).items()}}
    return doc
