"""Disaggregated serving, request by request: a prefill pool, the KV cache over the network, a decode pool.

The one request-level simulator (:func:`simulate_requests`) runs twice:

1. the prefill pool replays the arrivals with one output token each:
   iterations of prompts up to the engine budget, no decoding work; a
   request leaves when its prompt is done;
2. its KV cache (``input_tokens`` x bytes per token, the link of
   :func:`dctwin.perf.disagg.kv_link`) crosses to the decode pool, sent by
   the prefill replica's GPUs in parallel; transfers overlap with compute.
   Each prefill replica's link is a FIFO server at that bandwidth: a cache
   ready while an earlier one of the same replica is still on the wire waits
   for it (:func:`fifo_link`), so under load the transfer delay includes
   queueing;
3. the decode pool replays the hand-overs in order of arrival with
   ``prefilled=True``: admitted sequences decode at once, no prefill work.

Per request: TTFT = prefill finish + KV transfer - arrival (the first token
leaves with the hand-over, as :func:`dctwin.perf.disaggregated_perf`
counts it; ``kv_transfer_s`` is queueing plus transfer); TPOT = (last token - first token) / (output - 1). Energy per
token comes from the busy share of each pool and the platform's IT power
curve (:func:`dctwin.facility.it_power.rack_power_curve_kw`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.facility.it_power import rack_power_curve_kw
from dctwin.perf.disagg import kv_link
from dctwin.perf.models import get_model
from dctwin.serving.deployment import Deployment
from dctwin.serving.request_level import RequestLevelResult, _check_requests, simulate_requests

__all__ = ["DisaggregatedResult", "fifo_link", "serving_energy", "simulate_disaggregated"]


@dataclass(frozen=True)
class DisaggregatedResult:
    """Output of :func:`simulate_disaggregated`."""

    requests: pd.DataFrame        # per request as RequestLevelResult.requests, plus kv_transfer_s
    prefill: RequestLevelResult   # the prefill pool's own replay
    decode: RequestLevelResult    # the decode pool's own replay (requests with more than one output token)
    span_s: float                 # first arrival to last finish [s]
    tokens_per_s_per_gpu: float   # output tokens / span / GPUs of both pools [token/s/GPU]
    energy_j_per_token: float     # IT energy of both pools' units over the span / output tokens [J/token]

    def percentile(self, column: str, q: float) -> float:
        """The ``q``-th percentile (0-100) of a per-request column, NaNs ignored."""
        return float(np.nanpercentile(self.requests[column].to_numpy(dtype=float), q))


def serving_energy(deployment: Deployment, busy_fraction: float, span_s: float) -> float:
    """IT energy of the units ``deployment`` occupies over ``span_s`` at a GPU busy share [J]."""
    platform = get_platform(deployment.platform)
    units = deployment.n_gpus / platform.gpus_per_unit
    busy = float(np.clip(busy_fraction if np.isfinite(busy_fraction) else 0.0, 0.0, 1.0))
    return float(rack_power_curve_kw(platform, busy)) * 1e3 * units * span_s


def fifo_link(ready_s, transfer_s, link) -> np.ndarray:
    """When each transfer has crossed its link, one FIFO server per link id [s].

    ``ready_s`` [s] when each payload is ready, ``transfer_s`` [s] its time on the
    wire alone, ``link`` the link (server) it must use. Each link sends one
    payload at a time in order of readiness (ties by index).
    """
    ready, dur, link = (np.asarray(a) for a in (ready_s, transfer_s, link))
    done = np.empty(ready.size)
    free: dict[int, float] = {}
    for i in np.lexsort((np.arange(ready.size), ready)).tolist():
        k = int(link[i])
        start = max(float(ready[i]), free.get(k, -np.inf))
        done[i] = free[k] = start + float(dur[i])
    return done


def _check_pair(prefill: Deployment, decode: Deployment) -> None:
    for field in ("platform", "model", "precision", "params"):
        if getattr(prefill, field) != getattr(decode, field):
            raise InputError(f"prefill and decode pools must share the {field}", field=f"decode.{field}",
                             value=getattr(decode, field), allowed=str(getattr(prefill, field)))


def simulate_disaggregated(prefill: Deployment, decode: Deployment, arrival_t_s, input_tokens,
                           output_tokens) -> DisaggregatedResult:
    """Replay requests through a prefill pool and a decode pool (see module doc), with the performance constants
    of the prefill deployment (``Deployment.params``; both pools must share them)."""
    _check_pair(prefill, decode)
    t_arr, inp, out = _check_requests(arrival_t_s, input_tokens, output_tokens)
    platform = get_platform(prefill.platform)
    kv_b_per_tok, bw = kv_link(platform, get_model(prefill.model), prefill.precision,
                               prefill.n_gpus + decode.n_gpus, prefill.perf_params.inference)
    pre = simulate_requests(prefill, t_arr, inp, np.ones_like(out))
    ready = pre.requests["finish_s"].to_numpy()
    first = fifo_link(ready, inp * kv_b_per_tok / (bw * prefill.replica_gpus), pre.requests["replica"].to_numpy())
    t_kv = first - ready
    finish = first.copy()
    more = np.flatnonzero(out > 1)
    order = more[np.argsort(first[more], kind="stable")]
    dec = simulate_requests(decode, first[order], inp[order], out[order] - 1, prefilled=True)
    finish[order] = dec.requests["finish_s"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish - first) / (out - 1), np.nan)
    df = pd.DataFrame({"t_s": t_arr, "input_tokens": inp, "output_tokens": out,
                       "admit_s": pre.requests["admit_s"].to_numpy(), "first_token_s": first, "finish_s": finish,
                       "ttft_s": first - t_arr, "tpot_s": tpot, "e2e_s": finish - t_arr, "kv_transfer_s": t_kv})
    span = float(finish.max() - t_arr.min()) if t_arr.size else 0.0
    gpus = prefill.n_gpus + decode.n_gpus
    tokens = float(out.sum())
    energy = serving_energy(prefill, pre.busy_fraction * pre.span_s / span, span) \
        + serving_energy(decode, dec.busy_fraction * dec.span_s / span if dec.span_s > 0 else 0.0, span)
    return DisaggregatedResult(requests=df, prefill=pre, decode=dec, span_s=span,
                               tokens_per_s_per_gpu=tokens / span / gpus if span > 0 else float("nan"),
                               energy_j_per_token=energy / tokens if tokens else float("nan"))
