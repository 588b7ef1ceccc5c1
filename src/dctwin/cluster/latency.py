"""Scheduler attempt latency: bind time, retry period and failed attempts, fitted to a log's queue waits.

A Kubernetes-style scheduler takes a pod from its queue, tries to place it and
binds it (bind latency); a pod that fails an attempt goes to the
unschedulable queue, which is retried on a fixed period. A job's delay before
it reaches the cluster's free GPUs is then

    delay = bind latency + k × retry period,

with k the number of failed attempts. In a job log whose pods are a sample of a
larger, busier cluster (the Alibaba openb pods fill 0.3 % of the GPUs), the load
that makes attempts fail is not in the log: k is then drawn from what the log
shows, a share of jobs whose first attempt fails, and for those a two-part
geometric number of retries (a mixture: contention that clears within a few
periods, and contention that persists). Fitted here from recorded waits:

* retry period: the spacing of the comb of waits (the period whose phase the
  waits share most, a circular periodogram over 5-600 s, and at most a third of
  the waits' 90th percentile, so that the comb has teeth);
* bind latency: the waits of jobs placed at the first attempt (below half a
  period), body-tail model (``dctwin.workload.tails``);
* first-attempt failure share, and the mixture (weight, two continuation
  probabilities) fitted by expectation-maximisation to the retry counts.

Waits for free GPUs come on top, from the cluster simulation itself.
"""

from __future__ import annotations

import numpy as np

from dctwin.workload.tails import fit_body_tail, sample

__all__ = ["draw_delays", "fit_latency", "retry_period_s"]


def retry_period_s(waits_s: np.ndarray, lo_s: float = 5.0, hi_s: float = 600.0) -> tuple[float, float]:
    """(period [s], comb strength 0..1) of the waits above ``lo_s``; strength < 0.3 means no clear comb."""
    w = waits_s[(waits_s > 2 * lo_s) & (waits_s < 40 * hi_s)]
    if w.size < 20:
        return float("nan"), 0.0
    hi_s = min(hi_s, float(np.quantile(w, 0.9)) / 3.0)  # a comb needs teeth: the waits span >= 3 periods
    if hi_s <= lo_s:
        return float("nan"), 0.0
    periods = np.arange(lo_s, hi_s, 0.25)
    w = w[:: max(1, w.size // 20_000)]
    score = np.abs(np.exp(2j * np.pi * w[None, :] / periods[:, None]).mean(axis=1))
    best = float(score.max())
    # the comb's period and its fractions (R/2, R/3) all score; take the longest period near the best score
    ok = np.flatnonzero(score >= 0.95 * best)
    return float(periods[ok[-1]]), best


def _geo_mixture(k: np.ndarray, iters: int = 500) -> tuple[float, float, float]:
    """EM for P(k) = w (1 − a) a^(k−1) + (1 − w)(1 − b) b^(k−1), k >= 1: returns (w, a, b)."""
    vals, cnt = np.unique(k, return_counts=True)
    m = vals - 1.0
    w, a, b = 0.5, 0.3, 0.9
    for _ in range(iters):
        la = np.log(w) + np.log1p(-a) + m * np.log(a)
        lb = np.log1p(-w) + np.log1p(-b) + m * np.log(b)
        r = 1.0 / (1.0 + np.exp(np.clip(lb - la, -700, 700)))
        ra, rb = cnt * r, cnt * (1 - r)
        w = float(np.clip(ra.sum() / cnt.sum(), 1e-6, 1 - 1e-6))
        ma, mb = (ra * m).sum() / max(ra.sum(), 1e-12), (rb * m).sum() / max(rb.sum(), 1e-12)
        a, b = float(np.clip(ma / (1 + ma), 1e-6, 1 - 1e-9)), float(np.clip(mb / (1 + mb), 1e-6, 1 - 1e-9))
    return (w, a, b) if a <= b else (1 - w, b, a)


def fit_latency(waits_s: np.ndarray) -> dict | None:
    """The attempt model fitted to recorded queue waits [s]; None when the log shows no retry comb."""
    w = np.asarray(waits_s, dtype=np.float64)
    w = w[np.isfinite(w) & (w >= 0)]
    if w.size < 100:
        return None
    period, strength = retry_period_s(w)
    if not np.isfinite(period) or strength < 0.3:
        return None
    first = w < period / 2
    if first.sum() < 10:  # (almost) no job bound on its first attempt: no bind latency to fit the body and tail to
        return None
    k = np.rint(w[~first] / period).astype(np.int64).clip(min=1)
    mix = _geo_mixture(k) if k.size >= 10 else (1.0, 0.0, 0.0)
    return {"retry_s": round(period, 3), "comb_strength": round(strength, 4),
            "first_attempt_fail_share": round(float((~first).mean()), 6),
            "retries_mixture": {"weight_short": round(mix[0], 6), "continue_short": round(mix[1], 6),
                                "continue_long": round(mix[2], 6)},
            "bind": fit_body_tail(np.maximum(w[first], 0.0) + 1e-3), "waits_fitted": int(w.size)}


def draw_delays(model: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` scheduler delays [s]: bind latency plus failed attempts × retry period."""
    bind = np.maximum(sample(model["bind"], rng, n) - 1e-3, 0.0)
    fails = rng.random(n) < float(model["first_attempt_fail_share"])
    mix = model["retries_mixture"]
    short = rng.random(n) < float(mix["weight_short"])
    cont = np.where(short, float(mix["continue_short"]), float(mix["continue_long"]))
    k = rng.geometric(np.clip(1.0 - cont, 1e-9, 1.0))  # 1, 2, ... attempts until one succeeds
    return bind + np.where(fails, k, 0) * float(model["retry_s"])
