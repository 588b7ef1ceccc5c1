"""LLM serving throughput and latency at a steady batch, from the shared step roofline.

One model replica spans ``g`` GPUs (tensor parallel inside the NVLink
domain). Under continuous batching a replica holds ``B`` sequences; each
iteration emits one token for each of them and prefills, on average, the
prompts of the ``B / output_tokens`` requests that replace the finished ones.
The iteration time is :meth:`dctwin.perf.roofline.StepCost.step_time_s` of
that mix (memory- or compute-bound weight GEMMs, MoE experts read as routed,
attention over the KV cache, prefill, tensor-parallel all-reduces), the
same function the serving simulators charge per iteration.

``B`` is limited by the KV cache (HBM minus weights at the precision), by the
engine's maximum batch and by the TPOT/TTFT targets. Offline throughput is
the best over the allowed batch and replica sizes (the smallest batch
within 0.1% of the best, since throughput plateaus once compute-bound).
:func:`disaggregated_perf` splits prefill and decode onto separate GPUs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import WEIGHT_BYTES, check_precision
from dctwin.perf.job import number, whole
from dctwin.perf.models import LLM, get_model, tensor_parallel_problem
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.provenance import estimated_inputs
from dctwin.perf.roofline import check_layout, check_replica, step_cost, usable_bytes_per_gpu

__all__ = ["InferencePerf", "check_request", "inference_perf", "offline_tokens_per_s", "replica_sizes",
           "replica_tokens_per_s_bound",
           "throughput_at_scale"]


@dataclass(frozen=True)
class InferencePerf:
    """Result of :func:`inference_perf` for all ``n_gpus`` together."""

    tokens_per_s: float        # output tokens per second [token/s]
    requests_per_s: float      # completed requests per second [1/s]
    ttft_s: float              # time to first token of a request [s]
    tpot_s: float              # time per output token of a request (one iteration) [s]
    batch_size: int            # in-flight sequences per replica [-]
    kv_cache_gb: float         # KV cache in use per replica [GB]
    gpus_per_replica: int      # tensor-parallel size of one replica (it holds gpus_per_replica x pp GPUs) [-]
    replicas: int              # model copies on the GPUs [-]
    max_batch_memory: int      # batch the KV cache alone would allow per replica [-]
    pp: int = 1                # pipeline stages of one replica (tp x pp GPUs) [-]
    estimated_inputs: tuple[str, ...] = field(default=(), compare=False)  # dctwin estimates read (perf.provenance)


def replica_sizes(platform: Platform, n_gpus: int, model: LLM | None = None) -> list[int]:
    """Candidate tensor-parallel sizes: divisors of ``n_gpus`` inside one NVLink domain that the model's heads,
    KV heads and MLP split over (:func:`dctwin.perf.models.tensor_parallel_problem`)."""
    limit = min(n_gpus, platform.scale_up_domain_gpus)
    return [g for g in range(1, limit + 1)
            if n_gpus % g == 0 and (model is None or tensor_parallel_problem(model, g, training=False) is None)]


def _replica(platform: Platform, model: LLM, g: int, precision: str, in_tok: float, out_tok: float,
             params: PerfParams, pp: int = 1) -> dict | None:
    """Per-replica arrays over batch sizes 1..B_max from the shared step roofline; None if it does not fit."""
    try:
        cost = step_cost(platform, model, g, precision, params=params, pp=pp)
    except InputError:
        return None
    kv_tok_b = cost.kv_bytes_per_token                     # every copy of a K/V head counted
    ctx = in_tok + out_tok / 2.0                            # mean tokens held by an in-flight sequence
    b_mem = int(cost.kv_capacity_tokens // ctx)
    if b_mem < 1:
        return None
    batch = np.arange(1, min(b_mem, cost.max_batch) + 1, dtype=float)
    t_iter = _iteration_s(cost, batch, in_tok, out_tok)
    own_prefill = in_tok * (cost.prefill_s_per_token + cost.token_s) + cost.prefill_attn_s_per_token2 * in_tok**2
    ttft = own_prefill + t_iter                             # own prefill + wait for the running iteration
    return {"batch": batch, "t_iter": t_iter, "ttft": ttft, "kv_tok_b": kv_tok_b, "ctx": ctx, "b_mem": b_mem}


def _iteration_s(cost, batch, in_tok: float, out_tok: float):
    """Iteration time of a replica with ``batch`` sequences in flight, each replaced by a new prompt as it
    finishes [s] (arrays broadcast)."""
    ctx = in_tok + out_tok / 2.0                            # mean tokens held by an in-flight sequence
    prefill_tokens = batch * in_tok / out_tok               # prompts that replace the finished sequences
    return cost.step_time_s(batch, batch * ctx, prefill_tokens, prefill_tokens * in_tok)


def replica_tokens_per_s_bound(platform: Platform, model: LLM, g: int, precision: str, in_tok: float,
                               out_tok: float, params: PerfParams, pp: int = 1) -> float:
    """Most output tokens/s one replica of ``g`` x ``pp`` GPUs can serve at any batch and latency [token/s]
    (0 if it does not fit): the rate at the largest batch memory and engine allow, since a step's time per
    sequence never grows with the batch (weights read once, every other term linear). An upper bound of
    :func:`inference_perf` for one replica, at the cost of one step instead of one per batch size."""
    try:
        cost = step_cost(platform, model, g, precision, params=params, pp=pp)
    except InputError:
        return 0.0
    b = min(int(cost.kv_capacity_tokens // (in_tok + out_tok / 2.0)), cost.max_batch)
    return b / float(_iteration_s(cost, float(b), in_tok, out_tok)) if b >= 1 else 0.0


def check_request(model: LLM, input_tokens: float, output_tokens: float, *targets_s: tuple[str, float | None]) -> None:
    """Refuse a request shape that is not a finite mean of at least one token each, longer than the model's
    context, or a latency target (name, [s]) that is not a finite number >= 0 (InputError)."""
    for name, tokens in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        number(name, tokens, 1.0, f"a mean of at least 1 token, input + output <= {model.context_tokens}")
    for name, target in targets_s:
        if target is not None:
            number(name, target, 0.0, "a finite time >= 0 [s], or null: no target")
    if input_tokens + output_tokens > model.context_tokens:
        raise InputError(f"request longer than the context of {model.id}", field="input_tokens+output_tokens",
                         value=input_tokens + output_tokens, allowed=f"<= {model.context_tokens}")


def _best_batch(r: dict, g: int, n_gpus: int, output_tokens: float, ttft_target_s: float | None,
                tpot_target_s: float | None, pp: int = 1) -> InferencePerf | None:
    """The best batch of one replica size within the targets, for all ``n_gpus``; None if no batch meets them."""
    ok = np.ones_like(r["batch"], dtype=bool)
    if tpot_target_s is not None:
        ok &= r["t_iter"] <= tpot_target_s
    if ttft_target_s is not None:
        ok &= r["ttft"] <= ttft_target_s
    if not ok.any():
        return None
    tput = np.where(ok, r["batch"] / r["t_iter"], -np.inf)
    # throughput plateaus once compute-bound: take the smallest batch within 0.1% of the best
    i = int(np.argmax(tput >= 0.999 * tput.max()))
    replicas = n_gpus // (g * pp)
    tok_s = float(tput[i]) * replicas
    return InferencePerf(
        tokens_per_s=tok_s, requests_per_s=tok_s / output_tokens, ttft_s=float(r["ttft"][i]),
        tpot_s=float(r["t_iter"][i]), batch_size=int(r["batch"][i]),
        kv_cache_gb=float(r["batch"][i] * r["kv_tok_b"] * r["ctx"] / 1e9), gpus_per_replica=g,
        replicas=replicas, max_batch_memory=int(r["b_mem"]), pp=pp,
    )


def _no_fit_error(platform: Platform, model: LLM, n_gpus: int, precision: str, sizes: list[int],
                  c: Mapping[str, float]) -> InputError:
    g = max(sizes) if sizes else 1
    need_gb = model.params_total * WEIGHT_BYTES[precision] / 1e9
    usable_gb = g * usable_bytes_per_gpu(platform, c) / 1e9
    why = ("too little is left for the KV cache of one request" if need_gb < usable_gb
           else "the weights alone do not fit")
    return InputError(f"{model.id} at {precision} does not fit on {n_gpus} x {platform.gpu_name}: weights "
                      f"{need_gb:.0f} GB, a replica of {g} GPUs has {usable_gb:.0f} GB usable "
                      f"(GB = 1e9 B; {platform.hbm_gb:g} GiB per GPU less the runtime reserve); {why}",
                      field="n_gpus", value=n_gpus, allowed="more GPUs per replica or a lower precision")


def inference_perf(platform: Platform, model: LLM | str, n_gpus: int, precision: str = "fp8",
                   input_tokens: float = 1024, output_tokens: float = 256, ttft_target_s: float | None = None,
                   tpot_target_s: float | None = None, gpus_per_replica: int | None = None,
                   params: PerfParams | None = None, pp: int = 1) -> InferencePerf:
    """Best output-token throughput of ``model`` served on ``n_gpus`` GPUs of ``platform``.

    Requests have ``input_tokens`` prompt and ``output_tokens`` generated
    tokens on average. Without latency targets this is the offline (maximum
    batch) throughput; with targets only the batch sizes meeting them are
    considered. ``gpus_per_replica`` fixes the tensor-parallel size (default: the
    best divisor of ``n_gpus`` within the NVLink domain); ``pp``: pipeline stages per replica (a replica of
    tp x pp GPUs, :func:`dctwin.perf.roofline.step_cost`; the choice here searches the tensor-parallel size at
    pp = 1 only: :func:`dctwin.perf.serving_layout.serving_layout_perf` searches tp x pp per replica);
    ``params``: the run's performance constants (None: the packaged ones).
    """
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    n_gpus = whole("n_gpus", n_gpus)
    check_request(model, input_tokens, output_tokens, ("ttft_target_s", ttft_target_s),
                  ("tpot_target_s", tpot_target_s))
    if gpus_per_replica is not None:  # refused by name here, not found "not to fit" below
        gpus_per_replica = whole("gpus_per_replica", gpus_per_replica)
        check_replica(platform, model, gpus_per_replica, 1)
    params = params or packaged_perf_params()
    sizes = [gpus_per_replica] if gpus_per_replica else replica_sizes(platform, n_gpus, model)
    if gpus_per_replica and n_gpus % gpus_per_replica:
        raise InputError("gpus_per_replica must divide n_gpus", field="gpus_per_replica", value=gpus_per_replica)
    if type(pp) is not int or pp != 1:                      # True is not 1 stage
        if gpus_per_replica:
            check_layout(platform, model, int(gpus_per_replica), pp)
        if not gpus_per_replica or n_gpus % (gpus_per_replica * pp):
            raise InputError("pp > 1 needs gpus_per_replica, and gpus_per_replica x pp must divide n_gpus",
                             field="pp",
                             value=pp, allowed=f"1, or a pipeline depth with gpus_per_replica x pp dividing {n_gpus}")
    best: InferencePerf | None = None
    fits = False
    for g in sizes:
        r = _replica(platform, model, g, precision, float(input_tokens), float(output_tokens), params, pp)
        if r is None:
            continue
        fits = True
        cand = _best_batch(r, g, n_gpus, output_tokens, ttft_target_s, tpot_target_s, pp)
        if cand is not None and (best is None or cand.tokens_per_s > best.tokens_per_s):
            best = cand
    if not fits:
        raise _no_fit_error(platform, model, n_gpus, precision, [s * pp for s in sizes], params.inference)
    if best is None:
        raise InputError("no batch size meets the latency targets", field="ttft_target_s/tpot_target_s",
                         value=(ttft_target_s, tpot_target_s), allowed="looser targets or more GPUs per replica")
    return replace(best, estimated_inputs=estimated_inputs(platform, model, precision, training=False))


_TPUT_CACHE: dict[tuple, float] = {}


def offline_tokens_per_s(platform: Platform, model: LLM | str, n_gpus: int, precision: str,
                         input_tokens: float | None = None, output_tokens: float | None = None,
                         gpus_per_replica: int | None = None, software: str = "2024",
                         params: PerfParams | None = None, pp: int = 1) -> float:
    """Offline output tokens/s of one published run on ``n_gpus`` GPUs [token/s]: the MLPerf request shape
    (``mlperf_mean_input_tokens``, ``mlperf_mean_output_tokens``) unless given [token], ``gpus_per_replica`` fixed
    or the best, ``pp`` pipeline stages per replica, at the efficiency of serving stack ``software``
    (``PerfParams.for_serving_software``). What ``dctwin validate`` and the calibration fit
    (``dctwin.perf.reference``) both model a case with."""
    params = (params or packaged_perf_params()).for_serving_software(software)
    c = params.inference
    return inference_perf(platform, model, n_gpus, precision,
                          input_tokens=input_tokens or c["mlperf_mean_input_tokens"],
                          output_tokens=output_tokens or c["mlperf_mean_output_tokens"],
                          gpus_per_replica=gpus_per_replica, params=params, pp=pp).tokens_per_s


def throughput_at_scale(platform: Platform, model: LLM | str, n_gpus, precision: str = "fp8",
                        input_tokens: float = 1024, output_tokens: float = 256, ttft_target_s: float | None = None,
                        tpot_target_s: float | None = None, params: PerfParams | None = None) -> np.ndarray:
    """Output tokens/s [token/s] for each deployment size in ``n_gpus`` (array); NaN where it cannot serve.

    Cached per (platform, model, size, precision, request shape, targets, constants) so a caller can ask
    for every replica pool cheaply.
    """
    params = params or packaged_perf_params()
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    sizes = np.asarray(n_gpus)
    flat = sizes.reshape(-1)
    out = np.empty(flat.shape, dtype=float)
    pkey = (platform, model, params.digest("inference"))  # every value of both, not a few named fields
    for i, n in enumerate(flat):
        key = (pkey, int(n), precision, float(input_tokens), float(output_tokens), ttft_target_s, tpot_target_s)
        if key not in _TPUT_CACHE:
            try:
                _TPUT_CACHE[key] = inference_perf(platform, model, int(n), precision, input_tokens, output_tokens,
                                                  ttft_target_s, tpot_target_s, params=params).tokens_per_s
            except InputError:
                _TPUT_CACHE[key] = float("nan")
        out[i] = _TPUT_CACHE[key]
    return out.reshape(sizes.shape)
