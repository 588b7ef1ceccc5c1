"""Fluid (rate) model of LLM serving: utilisation and approximate latency from per-interval rates.

Inputs per interval: request rate [1/s], prompt and output token rates
[token/s] (their ratios give the mean request shape) and the arrival
dispersion (variance / mean of the request counts per ``window_s``; 1 for
Poisson arrivals). A :class:`TokenProfile` (quantiles of prompt and output
length, normalised to mean 1) gives the shape of the length distributions;
each interval scales it to its own means. Requests are spread evenly over
the replicas (on average; see TPOT below for which replica takes them).

Quasi-static treatment of bursts: inside an interval the arrival rate of a
window is Gamma distributed with the interval's mean and the variance the
dispersion implies (counts are then negative-binomial); a request meets the
rate of its window size-biased (busy windows hold more requests; the Gamma
law is sampled at stratified quantiles). Below the window, the optional
sub-window dispersion curve (``arrival_dispersion_<ms>ms`` columns, measured
by :func:`interval_rates`) gives the burst a request arrives in: the rate
over the next ``E`` seconds (:mod:`dctwin.serving.fluid_bursts`), which sets
the prompts joining its admission step and landing early in its decode. At the
window's per-replica rate ``lam``:

* iteration time ``T`` seen by a decoding request: the step cost of
  :class:`~dctwin.serving.deployment.StepCost` for itself plus ``L`` other
  decoding sequences and the prompts arriving during the step, with
  ``L = lam * E[out - 1] * T`` (Little's law): ``T = f(T)``, a vectorised
  fixed point (``f`` is increasing and convex). Where none exists, or the
  prompts alone need more than the replica (``lam * E[prefill] >= 1``), every
  step carries a full prefill budget and a backlog grows through the window
  (a request is stalled by the prompts queued behind it: those arriving in
  the rest of the window);
* waiting for the running step: an arrival lands in a step carrying prompts
  with that step type's time share (length bias), and such a step grows with
  the prompts arriving while it runs, ``(t_dec + prefill) / (1 - rho)``
  with ``rho`` the local prefill load; prompts meeting the same boundary are
  prefilled together (no M/G/1 queue: continuous batching admits them all
  up to the budget); in a backlog, a uniform share of the window's excess work;
* busy probability ``1 - exp(-lam * E[S])`` (M/G/infinity: continuous
  batching serves everyone in flight at once);
* batch-slot wait: Erlang C of an M/G/c queue with ``c`` = KV capacity /
  mean reservation (nil until the cache is nearly full).

Latency percentiles come from a stratified sample of requests per interval
(seeded, ``dctwin.rng.stream(seed, "serving.fluid")``), weighted by the
interval's request count: TTFT = slot and backlog waits + (if the replica is
busy) the residual of the running step + the admission step with the own
prompt and any that join it; TPOT = decode step + the prefills of the
``K`` requests that land on the replica while the request's own admission
step ``S1`` (share ``q^(n-1)``) and its decode run, at the rate of its burst
(``lam_b``), and then, at the window's rate, while their own prefills stretch
the decode (a branching process; a prompt arriving during the admission step
is prefilled in the first decode step), spread over the ``out - 1`` steps. A step carries at most what a step
fed from a long queue takes: prompts in order while the next fits the token
budget, and, once the KV cache is full, only as many as finish
(:mod:`dctwin.serving.fluid_steps`). As in the request-level router, an idle
replica takes an arrival at once and otherwise the first replica to reach a
step boundary does: a busy replica receives one only while the other
``n - 1`` are busy too, and idle-first routing fills the replicas together,
so that is while ``n - 1`` other requests are in flight on the deployment
(``lam_b = lam P(N >= n - 1)``, N Poisson with mean ``n lam E[S]``); during
its own long admission step only while they also run prompt-carrying steps
(time share ``q``), since one in a short decode step reaches its boundary
first. The prefill stalls that set the TPOT tail come with bursts that occupy
every replica.
Time means (busy share, in flight, KV) weight the samples back to time
(Little's law). A pipeline-parallel replica (pp > 1) runs the same terms
through :meth:`StepCost.step_time_s`: a prompt's work is what it adds to a
step of the decode batch it rides with (min(pp, n) micro-batches), over the
Poisson count of the batch a decoding request steps with, or, for an arriving
prompt, of the others it finds (:func:`dctwin.serving.fluid_steps.pipeline_moments`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.rng import stream
from dctwin.serving.deployment import Deployment, StepCost
from dctwin.serving.fluid_bursts import dispersion_columns, dispersion_curve, exposure_rates
from dctwin.serving.fluid_steps import (
    decode_s_with_stalls,
    full_step_prefill_s,
    iteration_s,
    kv_turnover,
    others_busy,
    pipeline_moments,
    prefill_alone_s,
    prefill_s,
)

__all__ = ["FluidResult", "TokenProfile", "fluid_serving", "interval_rates", "token_profile"]

#: Window over which a local arrival rate is defined [s]. Chosen among 2, 5 and 10 s by comparing with
#: the request-level replay of both Azure traces on three deployments (mean absolute log error of seven
#: figures: 0.127, 0.111, 0.179); the conversation trace is insensitive to it, the bursty code trace is not.
WINDOW_S = 5.0


@dataclass(frozen=True)
class TokenProfile:
    """Quantiles of prompt and output length, each normalised to mean 1 [-]."""

    input_shape: np.ndarray
    output_shape: np.ndarray


def token_profile(input_tokens, output_tokens, n_quantiles: int = 64) -> TokenProfile:
    """Shape of a service's request lengths from observed requests (mid-point quantiles)."""
    q = (np.arange(n_quantiles) + 0.5) / n_quantiles
    shapes = []
    for name, a in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        a = np.asarray(a, dtype=float)
        if a.size == 0 or not np.all(np.isfinite(a)) or a.mean() <= 0:
            raise InputError("need finite token counts with a positive mean", field=name)
        x = np.quantile(a, q)
        shapes.append(x / x.mean())
    return TokenProfile(shapes[0], shapes[1])


def interval_rates(t_s, input_tokens, output_tokens, interval_s: float = 60.0,
                   window_s: float = WINDOW_S) -> pd.DataFrame:
    """Per-interval rates of a request log: what the fluid model takes.

    Columns: ``t_s`` (interval start) [s], ``request_rate_per_s``,
    ``input_tokens_per_s``, ``output_tokens_per_s`` and ``arrival_dispersion``
    (variance / mean of the request counts per ``window_s`` inside the
    interval, at least 1; 1 for Poisson arrivals, about the mean burst size
    seen by a request for bursty ones), and the same index at the dyadic
    scales below the window (``arrival_dispersion_2500ms`` ... ``_39ms`` for a
    5 s window: :func:`dctwin.serving.fluid_bursts.dispersion_columns`).
    """
    t = np.asarray(t_s, dtype=float)
    if interval_s <= 0:
        raise InputError("interval_s must be > 0", field="interval_s", value=interval_s)
    k = np.floor((t - t.min()) / interval_s).astype(np.int64) if t.size else np.zeros(0, np.int64)
    n_int = int(k.max()) + 1 if t.size else 0
    count = np.bincount(k, minlength=n_int).astype(float)
    inp = np.bincount(k, weights=np.asarray(input_tokens, dtype=float), minlength=n_int)
    out = np.bincount(k, weights=np.asarray(output_tokens, dtype=float), minlength=n_int)
    # index of dispersion of the counts per window_s inside each interval (1 for Poisson arrivals), and below it
    span = (t.max() - t.min()) if t.size else 0.0
    rel = t - t.min() if t.size else t
    disp = dispersion_curve(rel, interval_s, n_int, span, window_s)
    sub = {name: dispersion_curve(rel, interval_s, n_int, span, scale_s)
           for name, scale_s in dispersion_columns(window_s)}
    return pd.DataFrame({"t_s": t.min() + interval_s * np.arange(n_int) if t.size else np.zeros(0),
                         "request_rate_per_s": count / interval_s, "input_tokens_per_s": inp / interval_s,
                         "output_tokens_per_s": out / interval_s, "arrival_dispersion": disp, **sub})


@dataclass(frozen=True)
class FluidResult:
    """Output of :func:`fluid_serving`."""

    intervals: pd.DataFrame       # per interval: iteration_s, in_flight, busy_fraction, kv_utilisation, overloaded...
    busy_fraction: float          # time-mean share of replica time in iterations [-]
    kv_utilisation: float         # time-mean KV tokens reserved / KV capacity [-]
    mean_in_flight: float         # time-mean sequences in flight per replica [-]
    samples: pd.DataFrame         # sampled requests: weight, input_tokens, output_tokens, ttft_s, tpot_s

    def percentile(self, column: str, q: float) -> float:
        """Weighted ``q``-th percentile (0-100) of ``ttft_s`` or ``tpot_s`` over all requests."""
        s = self.samples
        x = s[column].to_numpy(dtype=float)
        w = s["weight"].to_numpy(dtype=float)
        ok = np.isfinite(x) & (w > 0)
        x, w = x[ok], w[ok]
        if x.size == 0:
            return float("nan")
        order = np.argsort(x)
        cw = np.cumsum(w[order])
        return float(x[order][np.searchsorted(cw, q / 100.0 * cw[-1])])


def _erlang_c(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Probability of waiting in M/M/c with ``c`` servers and offered load ``a`` [-] (vectorised)."""
    out = np.ones_like(a, dtype=float)
    ok = a < c
    if not ok.any():
        return out
    cc, aa = c[ok], a[ok]
    b = np.ones_like(aa)
    for k in range(1, int(cc.max()) + 1):        # Erlang-B recursion, frozen once k passes each c
        nb = aa * b / (k + aa * b)
        b = np.where(k <= cc, nb, b)
    out[ok] = b / (1.0 - (aa / cc) * (1.0 - b))
    return out


def _read_rates(rates: pd.DataFrame):
    """(request rate [1/s], dispersion [-], mean prompt and output tokens) per interval; InputError if unusable."""
    for col in ("request_rate_per_s", "input_tokens_per_s", "output_tokens_per_s"):
        if col not in rates.columns:
            raise InputError("missing column in rates", field=col,
                             allowed="request_rate_per_s, input_tokens_per_s, output_tokens_per_s"
                                     "[, arrival_dispersion]")
    lam_all = rates["request_rate_per_s"].to_numpy(dtype=float)
    if np.any(lam_all < 0) or not np.all(np.isfinite(lam_all)):
        raise InputError("request rates must be finite and >= 0", field="request_rate_per_s")
    disp = (_dispersion(rates, "arrival_dispersion") if "arrival_dispersion" in rates.columns
            else np.ones_like(lam_all))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_in = np.where(lam_all > 0, rates["input_tokens_per_s"].to_numpy(dtype=float) / lam_all, 0.0)
        mean_out = np.where(lam_all > 0, rates["output_tokens_per_s"].to_numpy(dtype=float) / lam_all, 1.0)
    return lam_all, disp, mean_in, np.maximum(mean_out, 1.0)


def _dispersion(rates: pd.DataFrame, column: str) -> np.ndarray:
    """An index-of-dispersion column [-], refused unless every value is a finite number >= 1 (as
    :func:`interval_rates` writes them)."""
    values = pd.to_numeric(rates[column], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(values) & (values >= 1.0))
    if bad.any():
        raise InputError("an index of dispersion (variance / mean of the counts) is a number of at least 1",
                         field=column, value=rates[column].to_numpy()[bad][0], allowed="finite numbers >= 1")
    return values


def _read_curve(rates: pd.DataFrame, window_s: float):
    """(dispersion per interval at the sub-window scales, scales [s]) from the rates' columns, or (None, None).

    The columns belong to one window: all of this window's scales or none of them, and no other scale (rates
    measured for another window would be read at the wrong scales)."""
    expected = dispersion_columns(window_s)
    names = {c for c, _ in expected}
    given = {c for c in rates.columns if str(c).startswith("arrival_dispersion_")}
    if not given:
        return None, None
    if given != names:
        odd = sorted(given - names) or sorted(names - given)
        raise InputError(f"sub-window dispersion columns are not those of a {window_s:g} s window", field=odd[0],
                         value=", ".join(sorted(given)), allowed=", ".join(c for c, _ in expected) + ", or none")
    curve = np.column_stack([_dispersion(rates, c) for c, _ in expected])
    return curve, np.array([sc for _, sc in expected])


def _shape_moments(cost: StepCost, profile: TokenProfile, mean_in, mean_out):
    """(E[prompt], E[decode steps], context per decoding sequence, E[prefill work] [s], prompts admitted per step
    with a full KV cache) per interval, columns."""
    xin = mean_in[:, None] * profile.input_shape[None, :]
    yout = np.maximum(mean_out[:, None] * profile.output_shape[None, :], 1.0)
    e_in, e_y = xin.mean(1)[:, None], yout.mean(1)[:, None]
    e_dec = e_y - 1.0
    e_ctx = e_dec * e_in + (yout * (yout - 1.0)).mean(1)[:, None] / 2.0
    ctx_per_seq = np.where(e_dec > 0, e_ctx / np.maximum(e_dec, 1e-12), 0.0)
    turnover = kv_turnover(cost, e_in, e_y, (yout * yout).mean(1)[:, None])
    return e_in, e_dec, ctx_per_seq, prefill_s(cost, xin).mean(1)[:, None], turnover


def _local_rates(rng, lam_all, disp, n_rep: int, n_s: int, window_s: float):
    """Per-replica arrival rate of the window each sampled request lands in [1/s] (size-biased Gamma)."""
    n_int = lam_all.size
    excess = (disp - 1.0)[:, None]
    shape = np.where(excess > 0, lam_all[:, None] * window_s / np.maximum(excess, 1e-12), np.inf)
    scale = excess / window_s
    from scipy.special import gammaincinv
    q = (rng.permuted(np.broadcast_to(np.arange(n_s), (n_int, n_s)), axis=1) + rng.random((n_int, n_s))) / n_s
    g = gammaincinv(np.where(np.isfinite(shape), shape + 1.0, 1.0), q)      # stratified over the law's quantiles
    return np.where(np.isfinite(shape), g * scale, lam_all[:, None]) / n_rep


def _sample_shapes(rng, profile: TokenProfile, mean_in, mean_out, n_s: int):
    """Prompt and output tokens of the sampled requests: stratified over the profile, randomly paired."""
    n_int = mean_in.size
    k_in = rng.permuted(np.broadcast_to(np.arange(n_s) % profile.input_shape.size, (n_int, n_s)), axis=1)
    k_out = rng.permuted(np.broadcast_to(np.arange(n_s) % profile.output_shape.size, (n_int, n_s)), axis=1)
    x = mean_in[:, None] * profile.input_shape[k_in]
    y = np.maximum(np.rint(mean_out[:, None] * profile.output_shape[k_out]), 1.0)
    return x, y


def _first_step(rng, cost: StepCost, profile: TokenProfile, lam_loc, x, mean_in, it: dict, window_s: float,
                burst_rate):
    """Prefill backlog wait, busy flag, residual of the running step, admission step [s] and arrival time in the
    window [window] of each sample. ``burst_rate(lam, e_s)``: per-replica arrival rate over the ``e_s`` after an
    arrival in a window of rate ``lam`` [1/s]."""
    n_int, n_s = x.shape
    t_dec, pre_mean, t_it, steady, n_step = (it[k] for k in ("t_dec", "pre_mean", "t_it", "steady", "n_step"))
    pre_own = prefill_s(cost, x, it.get("batch_admit"))
    # waits for prefill compute: above a local prefill load of 1 a backlog grows through the window
    rho = lam_loc * pre_mean
    u = rng.random((n_int, n_s))                                  # arrival time in the window [window]
    w_pre = np.maximum(rho - 1.0, 0.0) * u * window_s
    busy_p = 1.0 - np.exp(-lam_loc * it["stay_s"])
    busy_now = rng.random((n_int, n_s)) < busy_p
    # residual of the running step, length-biased: with the time share of steps carrying a prompt the
    # arrival lands in one (decode step + another request's prefill), else in a decode-only step;
    in_prefill_step = rng.random((n_int, n_s)) < it["prefill_share"]
    pick = rng.integers(0, profile.input_shape.size, size=(n_int, n_s))
    other = prefill_s(cost, mean_in[:, None] * profile.input_shape[pick], it.get("batch_admit"))
    # a step carrying prompts grows with the prompts arriving while it runs: (t_dec + x) / (1 - rho)
    grown = (t_dec + other) / (1.0 - np.minimum(lam_loc * pre_mean, 0.95))
    running = np.where(steady, np.where(in_prefill_step, grown, t_dec), t_it)
    residual = rng.random((n_int, n_s)) * running
    # prompts joining the same step, at the rate of the burst the request arrives in (over the residual)
    mates = rng.poisson(burst_rate(lam_loc, np.maximum(residual, 1e-9)) * np.where(busy_now, residual, 0.0))
    alone = prefill_alone_s(cost, x)
    first_step = np.where(busy_now, t_dec + pre_own, alone) + np.minimum(mates, n_step - 1.0) * pre_mean
    return w_pre, busy_p, busy_now, residual, first_step, u


def _time_means(cost: StepCost, lam_r, lam_loc, busy_p, x, y, admitted_s, interval_s: float, pre_mean):
    """Per interval: in flight, KV use, busy share, batch-slot wait [s] and overload flag (Little's law)."""
    in_flight = lam_r * admitted_s.mean(1)
    kv_util = lam_r * ((x + y) * admitted_s).mean(1) / cost.kv_capacity_tokens
    with np.errstate(invalid="ignore", divide="ignore"):   # requests over-sample busy windows: weight by 1 / rate
        busy = np.where(lam_r > 0, lam_r * np.mean(busy_p / np.maximum(lam_loc, 1e-12), axis=1), 0.0)
    busy = np.clip(busy, 0.0, 1.0)
    slots = np.maximum(np.floor(np.minimum(cost.max_batch, cost.kv_capacity_tokens / np.maximum(
        (x + y).mean(1), 1.0))), 1.0)
    stay = admitted_s.mean(1)
    w_slot = np.where(in_flight < slots,
                      _erlang_c(slots, in_flight) * stay / np.maximum(slots - in_flight, 1e-9), interval_s)
    overloaded = (in_flight >= slots) | (lam_r * pre_mean.mean(1) >= 1.0)
    return in_flight, kv_util, busy, w_slot, overloaded


def _steps_at(cost: StepCost, lam, moments, interval_s: float) -> dict:
    """Step times at per-replica arrival rate ``lam`` [1/s]: decode step, iteration, steady flag, stay, prompt share."""
    e_dec, ctx_per_seq, pre_mean, full_s = moments
    t_it, steady = iteration_s(cost, lam, e_dec, ctx_per_seq, pre_mean, interval_s)
    t_dec = np.maximum(t_it - lam * t_it * pre_mean, cost.weights_read_s(1.0))
    t_it = np.where(steady, t_it, t_dec + full_s)               # overload: every step carries a full step's prompts
    return {"t_dec": t_dec, "pre_mean": pre_mean, "e_dec": e_dec, "t_it": t_it, "steady": steady, "full_s": full_s,
            "stay_s": t_dec + pre_mean + e_dec * t_it,    # expected admission to finish [s]
            "prefill_share": np.minimum(1.0, lam * (t_dec + pre_mean))}   # time share of prompt-carrying steps


def fluid_serving(deployment: Deployment, rates: pd.DataFrame, profile: TokenProfile, interval_s: float = 60.0,
                  seed: int = 0, samples_per_interval: int = 256, window_s: float = WINDOW_S) -> FluidResult:
    """Utilisation and approximate latency of ``deployment`` under the per-interval ``rates``.

    ``rates``: a frame as from :func:`interval_rates` (``arrival_dispersion``, the
    variance/mean of counts per ``window_s``, optional: default 1 = Poisson; the
    sub-window ``arrival_dispersion_<ms>ms`` columns, optional: without them a
    window's rate holds for the whole window).
    ``interval_s`` [s] is the length of each row.
    """
    lam_all, disp, mean_in, mean_out = _read_rates(rates)
    curve, scales_s = _read_curve(rates, window_s)
    cost, n_rep = deployment.cost, deployment.replicas
    n_int, n_s = lam_all.size, int(samples_per_interval)
    lam_r = lam_all / n_rep
    e_in, e_dec, ctx_per_seq, pre_mean, turnover = _shape_moments(cost, profile, mean_in, mean_out)
    rng = stream(seed, "serving.fluid")
    lam_loc = _local_rates(rng, lam_all, disp, n_rep, n_s, window_s)
    # prompt work of a step taking from a long queue: a full budget, unless the KV cache admits only as many as finish
    full_s = np.minimum(full_step_prefill_s(cost, profile.input_shape, mean_in, deployment.max_prefill_tokens),
                        turnover * pre_mean)
    moments, batches = (e_dec, ctx_per_seq, pre_mean, full_s), {}
    if cost.pp > 1:   # a prompt's work depends on the decode batch it rides with through the pipeline
        moments, batches = pipeline_moments(cost, lam_loc, moments, profile.input_shape, mean_in,
                                            deployment.max_prefill_tokens, turnover, interval_s)
    it = {**_steps_at(cost, lam_loc, moments, interval_s), **batches}
    it["n_step"] = np.maximum(np.floor(deployment.max_prefill_tokens / np.maximum(e_in, 1.0)), 1.0)
    x, y = _sample_shapes(rng, profile, mean_in, mean_out, n_s)

    def burst_rate(lam, e_s):                   # per replica, over the e_s after an arrival (sub-window bursts)
        return exposure_rates(rng, lam * n_rep, e_s, curve, scales_s, disp, window_s) / n_rep

    w_pre, busy_p, busy_now, residual, first_step, u = _first_step(rng, cost, profile, lam_loc, x, mean_in, it,
                                                                   window_s, burst_rate)
    steps = np.maximum(y - 1.0, 0.0)
    lam_e = burst_rate(lam_loc, np.where(it["steady"], steps * it["t_it"], (1.0 - u) * window_s) + first_step)
    # idle replicas take arrivals first: a busy one receives them only while all the others are busy too, and
    # during its own long admission step only while they run prompt-carrying steps (else one reaches a boundary first)
    first_exposed = first_step * np.minimum(1.0, lam_e * (it["t_dec"] + pre_mean)) ** (n_rep - 1)
    lam_busy = lam_e * others_busy(n_rep, n_rep * lam_e * it["stay_s"])
    lam_held = lam_loc * others_busy(n_rep, n_rep * lam_loc * it["stay_s"])
    decode_s = decode_s_with_stalls(rng, cost, profile.input_shape, mean_in, (lam_busy, lam_held), steps,
                                    first_exposed, (1.0 - u) * window_s, it)
    in_flight, kv_util, busy, w_slot, overloaded = _time_means(cost, lam_r, lam_loc, busy_p, x, y,
                                                               first_step + decode_s, interval_s, pre_mean)
    ttft = w_slot[:, None] + w_pre + np.where(busy_now, residual, 0.0) + first_step
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(y > 1, decode_s / np.maximum(steps, 1.0), np.nan)
    samples = pd.DataFrame({"weight": np.repeat(lam_all * interval_s / n_s, n_s), "input_tokens": x.ravel(),
                            "output_tokens": y.ravel(), "local_rate_per_s": (lam_loc * n_rep).ravel(),
                            "ttft_s": ttft.ravel(), "tpot_s": tpot.ravel()})
    intervals = pd.DataFrame({
        "t_s": rates["t_s"].to_numpy(dtype=float) if "t_s" in rates.columns else interval_s * np.arange(n_int),
        "request_rate_per_s": lam_all, "iteration_s": np.median(it["t_it"], axis=1),
        "decode_step_s": np.median(it["t_dec"], axis=1), "in_flight": in_flight, "busy_fraction": busy,
        "kv_utilisation": kv_util, "slot_wait_s": w_slot, "prefill_wait_s": w_pre.mean(1),
        "locally_overloaded": 1.0 - it["steady"].mean(1), "overloaded": overloaded})
    mean = (lambda a: float(a.mean())) if n_int else (lambda a: float("nan"))
    return FluidResult(intervals=intervals, busy_fraction=mean(busy), kv_utilisation=mean(kv_util),
                       mean_in_flight=mean(in_flight), samples=samples)
