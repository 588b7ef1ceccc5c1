"""Disaggregated serving: prefill and decode on separate GPU pools, the KV cache sent between them.

Splitwise (Patel et al., ISCA 2024) and DistServe (Zhong et al., OSDI 2024)
run prompts on one pool and token generation on another, so decode steps
never wait behind a prefill. With the shared step roofline
(:mod:`dctwin.perf.roofline`):

* a prefill replica runs steps of ``prefill_batch_tokens`` prompt tokens,
  compute-bound; its rate is prompts per step over the step time;
* a decode replica runs decode-only steps at the largest batch its KV cache,
  the engine limit and the TPOT target allow;
* each request's KV cache (``input_tokens`` x bytes per token) crosses the
  scale-out network (NVLink when both pools share one NVLink domain); the
  link pipelines with compute, so it bounds throughput only when saturated
  and adds its transfer time to the time to first token.

Throughput is the least of the three rates (prefill, decode, link), in
output tokens per second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import check_precision, link_bytes_per_s_one_way
from dctwin.perf.inference import check_request, replica_sizes
from dctwin.perf.job import whole
from dctwin.perf.models import LLM, get_model
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.provenance import estimated_inputs
from dctwin.perf.roofline import step_cost

__all__ = ["DisaggregatedPerf", "disaggregated_perf", "kv_link"]


@dataclass(frozen=True)
class DisaggregatedPerf:
    """Steady state of a prefill pool feeding a decode pool."""

    tokens_per_s: float        # output tokens per second [token/s]
    requests_per_s: float      # completed requests per second [1/s]
    ttft_s: float              # prefill step + KV transfer [s]
    tpot_s: float              # one decode-only step [s]
    bound: str                 # 'prefill', 'decode' or 'kv transfer'
    prefill_gpus_per_replica: int
    decode_gpus_per_replica: int
    decode_batch: int          # sequences per decode replica [-]
    kv_transfer_s: float       # one request's KV cache over the link [s]
    prefill_requests_per_s: float = float("nan")   # prompts/s the prefill pool computes [1/s]
    kv_requests_per_s: float = float("nan")        # prompts/s whose KV cache the link carries [1/s]
    decode_tokens_per_s: float = float("nan")      # output tokens/s the decode pool emits at the target [token/s]
    decode_replica_tokens_per_s: float = float("nan")   # of one decode replica [token/s]
    estimated_inputs: tuple[str, ...] = field(default=(), compare=False)  # dctwin estimates read (perf.provenance)

    @property
    def prefill_unit_requests_per_s(self) -> float:
        """Prompts/s one prefill unit admits: its prefill or its KV sends, whichever is slower [1/s]."""
        return min(self.prefill_requests_per_s, self.kv_requests_per_s)


def _prefill_pool(platform: Platform, model: LLM, n: int, precision: str, in_tok: float, params: PerfParams):
    """(prompts/s of the pool, prefill step time [s], GPUs per replica) at the best replica size."""
    best = None
    for g in replica_sizes(platform, n, model):
        try:
            cost = step_cost(platform, model, g, precision, params=params)
        except InputError:
            continue
        p_tok = max(in_tok, params.inference["prefill_batch_tokens"])
        t = float(cost.step_time_s(0, 0, p_tok, p_tok * in_tok))
        rate = (n // g) * p_tok / in_tok / t
        if best is None or rate > best[0]:
            best = (rate, t, g)
    return best


def _decode_pool(platform: Platform, model: LLM, n: int, precision: str, in_tok: float, out_tok: float,
                 tpot_target_s: float | None, params: PerfParams):
    """(output tokens/s of the pool, step time [s], GPUs per replica, batch) at the best replica size."""
    best = None
    ctx = in_tok + out_tok / 2.0
    for g in replica_sizes(platform, n, model):
        try:
            cost = step_cost(platform, model, g, precision, params=params)
        except InputError:
            continue
        b_max = int(min(cost.kv_capacity_tokens // ctx, cost.max_batch))
        if b_max < 1:
            continue
        batch = np.arange(1, b_max + 1, dtype=float)
        t = cost.step_time_s(batch, batch * ctx, 0.0, 0.0)
        ok = t <= tpot_target_s if tpot_target_s is not None else np.ones_like(t, dtype=bool)
        if not ok.any():
            continue
        tput = np.where(ok, batch / t, -np.inf)
        i = int(np.argmax(tput >= 0.999 * tput.max()))
        rate = (n // g) * float(tput[i])
        if best is None or rate > best[0]:
            best = (rate, float(t[i]), g, int(batch[i]))
    return best


def kv_link(platform: Platform, model: LLM, precision: str, span_gpus: int,
            c: Mapping[str, float]) -> tuple[float, float]:
    """(KV-cache bytes per prompt token [B], link bandwidth per sending GPU, one direction [B/s]) with the
    'inference' constants ``c`` (``PerfParams.inference``).

    Both pools inside one NVLink domain (``span_gpus`` at most its size): NVLink; else the scale-out NIC.
    """
    kv_b = model.kv_bytes_per_token(2.0 if precision == "bf16" else c["kv_bytes_per_value"])
    same_domain = span_gpus <= platform.scale_up_domain_gpus
    gb_s = platform.scale_up_bandwidth_gb_s if same_domain else platform.scale_out_bandwidth_gb_s
    return kv_b, link_bytes_per_s_one_way(gb_s, c)


def disaggregated_perf(platform: Platform, model: LLM | str, prefill_gpus: int, decode_gpus: int,
                       precision: str = "fp8", input_tokens: float = 1024, output_tokens: float = 256,
                       tpot_target_s: float | None = None, params: PerfParams | None = None) -> DisaggregatedPerf:
    """Throughput and latency of ``prefill_gpus`` prefilling for ``decode_gpus`` decoding (see module doc), with the
    run's performance constants ``params`` (None: the packaged ones)."""
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    prefill_gpus, decode_gpus = whole("prefill_gpus", prefill_gpus), whole("decode_gpus", decode_gpus)
    check_request(model, input_tokens, output_tokens, ("tpot_target_s", tpot_target_s))
    params = params or packaged_perf_params()
    pre = _prefill_pool(platform, model, int(prefill_gpus), precision, float(input_tokens), params)
    dec = _decode_pool(platform, model, int(decode_gpus), precision, float(input_tokens), float(output_tokens),
                       tpot_target_s, params)
    if pre is None or dec is None:
        which = "prefill" if pre is None else "decode"
        raise InputError(f"{model.id} at {precision} cannot run the {which} pool on {platform.gpu_name}",
                         field=f"{which}_gpus", value=prefill_gpus if pre is None else decode_gpus,
                         allowed="more GPUs, a lower precision or a looser TPOT target")
    kv_b_per_tok, bw = kv_link(platform, model, precision, prefill_gpus + decode_gpus, params.inference)
    kv_b = kv_b_per_tok * input_tokens
    t_kv = kv_b / (bw * pre[2])                    # the prefill replica's GPUs send in parallel
    rates = {"prefill": pre[0] * output_tokens, "decode": dec[0],
             "kv transfer": bw * prefill_gpus / kv_b * output_tokens}
    bound = min(rates, key=rates.get)
    tok_s = rates[bound]
    return DisaggregatedPerf(tokens_per_s=tok_s, requests_per_s=tok_s / output_tokens, ttft_s=pre[1] + t_kv,
                             tpot_s=dec[1], bound=bound, prefill_gpus_per_replica=pre[2],
                             decode_gpus_per_replica=dec[2], decode_batch=dec[3], kv_transfer_s=t_kv,
                             prefill_requests_per_s=pre[0], kv_requests_per_s=bw * prefill_gpus / kv_b,
                             decode_tokens_per_s=dec[0], decode_replica_tokens_per_s=dec[0] / (decode_gpus // dec[2]),
                             estimated_inputs=estimated_inputs(platform, model, precision, training=False))
