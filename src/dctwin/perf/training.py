"""Training step time and MFU of a dense or MoE transformer on a GPU platform.

The step is modelled as

    t_step = t_compute * (1 + bubble) + t_tp_exposed + t_ep_exposed + t_dp_exposed

* ``t_compute``: model FLOPs of the step over the GPUs' dense peak times a
  kernel efficiency. Model FLOPs per token are ``6 * N_active`` for the
  weights (2 forward + 4 backward, the 6·N·D rule) plus ``12 * L * d * s``
  for attention (the Megatron-LM count behind NeMo's "model TFLOP/s"; causal
  kernels skip half of it, which the attention efficiency absorbs). Linear
  layers run at the requested precision; attention runs in BF16 (Transformer
  Engine applies FP8 to the linear layers only).
* ``bubble``: 1F1B interleaved pipeline bubble ``(pp - 1) / (m * v)`` with
  ``m`` micro-batches of one sequence per pipeline and ``v`` virtual stages.
* tensor-parallel all-reduces (4 per layer per token, activations in 16 bit)
  inside the NVLink domain; expert all-to-all for MoE (expert parallelism
  kept inside the NVLink domain, experts sharded over it); gradient
  reduce-scatter + all-gather over the data-parallel group, on the scale-out
  network once the group leaves the NVLink domain. Only the non-overlapped
  share of each is added.

With the global batch fixed, adding GPUs shrinks the micro-batches per
pipeline and the compute per GPU while the gradient traffic per GPU stays,
so MFU falls with scale as published runs show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import check_precision, peak_flops
from dctwin.perf.models import LLM, get_model
from dctwin.perf.params import load_params

__all__ = ["TrainingPerf", "choose_parallelism", "mfu_at_scale", "model_flops_per_token", "training_perf"]


@dataclass(frozen=True)
class TrainingPerf:
    """Result of :func:`training_perf` (times in [s], throughput in [token/s])."""

    step_time_s: float
    tokens_per_s: float
    mfu: float                 # model FLOP/s / dense peak at the precision [-]
    tflops_per_gpu: float      # model TFLOP/s per GPU [TFLOP/s]
    tp: int
    pp: int
    dp: int
    global_batch_tokens: float
    bubble_fraction: float     # pipeline idle time / compute time [-]
    comm_exposed_s: float      # communication not hidden behind compute [s]
    memory_per_gpu_gb: float   # weights, gradients, optimizer and activations [GB]


def model_flops_per_token(model: LLM, seq_tokens: float) -> tuple[float, float]:
    """Training model FLOPs per token: (weights part 6·N_active, attention part 12·L·d·s) [FLOP]."""
    weights = 6.0 * model.params_active
    attention = 3.0 * model.attention_flops_per_token(seq_tokens)
    return weights, attention


def _expert_parallel(platform: Platform, model: LLM, tp: int, dp: int) -> int:
    """Expert-parallel size: the largest divisor of ``dp`` that keeps tp x ep inside the NVLink domain."""
    if not model.is_moe:
        return 1
    limit = max(1, min(model.experts, platform.scale_up_domain_gpus // tp))
    return max(d for d in _divisors(dp) if d <= limit)


def _params_per_gpu(model: LLM, tp: int, pp: int, ep: int) -> float:
    """Parameters held by one GPU; MoE experts are also sharded over the expert-parallel ranks."""
    if not model.is_moe:
        return model.params_total / (tp * pp)
    # total = dense + experts, active = dense + experts * k / E  =>  experts = (total - active) * E / (E - k)
    k, e = model.experts_per_token, model.experts
    experts = (model.params_total - model.params_active) * e / (e - k)
    return (model.params_total - experts + experts / ep) / (tp * pp)


def _memory_per_gpu_bytes(model: LLM, tp: int, pp: int, dp: int, ep: int, seq: float, m: float, c: dict) -> float:
    per_gpu = _params_per_gpu(model, tp, pp, ep)
    states = per_gpu * (c["state_bytes_per_param_replicated"] + c["state_bytes_per_param_sharded"] / dp)
    in_flight = min(pp, max(m, 1.0))
    acts = c["activation_bytes_per_token_hidden_layer"] * seq * model.hidden_size * (model.layers / pp) / tp * in_flight
    return states + acts


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _evaluate(platform: Platform, model: LLM, n_gpus: int, precision: str, batch: float, seq: float,
              tp: int, pp: int, dp: int, c: dict) -> TrainingPerf:
    """The step model for one parallel layout (see the module docstring)."""
    batch = max(batch, seq * dp)
    m = batch / (seq * dp)                       # micro-batches (of one sequence) per pipeline per step
    ep = _expert_parallel(platform, model, tp, dp)

    # compute
    w_flops, a_flops = model_flops_per_token(model, seq)
    eff = c[f"kernel_efficiency_{'fp8' if precision == 'fp4' else precision}"]
    if precision == "fp4":
        eff *= c["kernel_efficiency_fp4_vs_fp8"]
    peak = peak_flops(platform, precision)
    peak_bf16 = peak_flops(platform, "bf16")
    t_compute = batch * (w_flops / (peak * eff) + a_flops / (peak_bf16 * c["attention_efficiency"])) / n_gpus

    # pipeline bubble
    if pp > 1:
        v = max(1.0, min(c["virtual_stages_max"], model.layers / pp))
        bubble = (pp - 1) / (m * v)
    else:
        bubble = 0.0

    # communication [s]; bandwidth fields are both directions, collectives use one
    link = c["link_efficiency"]
    up_bw = platform.scale_up_bandwidth_gb_s / 2 * 1e9 * link
    out_bw = platform.scale_out_bandwidth_gb_s / 2 * 1e9 * link
    tokens_per_group = batch / dp                                   # tokens seen by one tensor-parallel group
    layers_per_stage = model.layers / pp
    t_tp = 0.0
    if tp > 1:
        tp_bw = up_bw if tp <= platform.scale_up_domain_gpus else out_bw
        tp_bytes = tokens_per_group * layers_per_stage * 4 * model.hidden_size * 2 * 2 * (tp - 1) / tp
        t_tp = tp_bytes / tp_bw * (1 - c["tp_comm_overlap"])
    t_ep = 0.0
    if ep > 1:  # dispatch + combine, forward and backward, top-k copies of each token's activations
        ep_bytes = (tokens_per_group / tp) * layers_per_stage * 4 * model.experts_per_token * model.hidden_size * 2 \
            * (ep - 1) / ep
        t_ep = ep_bytes / up_bw * (1 - c["tp_comm_overlap"])
    t_dp = 0.0
    if dp > 1:
        dp_bw = up_bw if tp * dp <= platform.scale_up_domain_gpus else out_bw
        dp_bytes = _params_per_gpu(model, tp, pp, ep) * 2 * 2 * (dp - 1) / dp
        t_dp = dp_bytes / dp_bw * (1 - c["dp_comm_overlap"])
    comm = t_tp + t_ep + t_dp

    step = t_compute * (1 + bubble) + comm
    tokens_per_s = batch / step
    tflops = tokens_per_s * (w_flops + a_flops) / n_gpus / 1e12
    return TrainingPerf(
        step_time_s=step, tokens_per_s=tokens_per_s, mfu=tflops * 1e12 / peak, tflops_per_gpu=tflops,
        tp=tp, pp=pp, dp=dp, global_batch_tokens=batch, bubble_fraction=bubble, comm_exposed_s=comm,
        memory_per_gpu_gb=_memory_per_gpu_bytes(model, tp, pp, dp, ep, seq, m, c) / 1e9,
    )


def _fits(platform: Platform, model: LLM, tp: int, pp: int, dp: int, seq: float, batch: float, c: dict) -> bool:
    budget = platform.hbm_gb * 1e9 * c["hbm_usable_fraction"]
    m = max(batch, seq * dp) / (seq * dp)
    ep = _expert_parallel(platform, model, tp, dp)
    return _memory_per_gpu_bytes(model, tp, pp, dp, ep, seq, m, c) <= budget


def choose_parallelism(platform: Platform, model: LLM, n_gpus: int, seq: float, batch_tokens: float,
                       precision: str = "bf16", c: dict | None = None) -> tuple[int, int, int]:
    """The fastest layout: tensor parallel inside the NVLink domain (at most 8, dividing the heads), for each
    the fewest pipeline stages that fit in memory, data parallel the rest.

    Raises InputError when the model cannot fit on ``n_gpus``.
    """
    c = c or load_params()["training"]
    tp_cap = min(8, platform.scale_up_domain_gpus, n_gpus)
    best: tuple[float, tuple[int, int, int]] | None = None
    for tp in (d for d in _divisors(n_gpus) if d <= tp_cap and model.attention_heads % d == 0):
        for pp in _divisors(n_gpus // tp):
            if pp > model.layers:
                break
            dp = n_gpus // (tp * pp)
            if _fits(platform, model, tp, pp, dp, seq, batch_tokens, c):
                step = _evaluate(platform, model, n_gpus, precision, batch_tokens, seq, tp, pp, dp, c).step_time_s
                if best is None or step < best[0]:
                    best = (step, (tp, pp, dp))
                break
    if best is None:
        raise InputError(f"{model.id} does not fit in the memory of {n_gpus} x {platform.gpu_name} for training",
                         field="n_gpus", value=n_gpus, allowed="more GPUs")
    return best[1]


def training_perf(platform: Platform, model: LLM | str, n_gpus: int, precision: str = "bf16",
                  global_batch_tokens: float | None = None, tp: int | None = None, pp: int | None = None,
                  dp: int | None = None, seq_tokens: int | None = None,
                  params: dict | None = None) -> TrainingPerf:
    """Step time, throughput and MFU of pre-training ``model`` on ``n_gpus`` GPUs of ``platform``.

    ``global_batch_tokens`` defaults to the model's published batch (raised to
    one sequence per data-parallel rank if needed); ``tp``/``pp``/``dp`` are
    chosen by :func:`choose_parallelism` when not given; ``params`` overrides
    the 'training' constants of ``calibration.yaml`` (used by the fit).
    """
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    n_gpus = int(n_gpus)
    if n_gpus < 1:
        raise InputError("n_gpus must be at least 1", field="n_gpus", value=n_gpus)
    c = dict(load_params()["training"])
    c.update(params or {})
    seq = float(seq_tokens or model.train_seq_tokens)
    batch = max(float(global_batch_tokens or model.train_batch_tokens), seq)

    if tp is None or pp is None or dp is None:
        if tp is None and pp is None and dp is None:
            tp, pp, dp = choose_parallelism(platform, model, n_gpus, seq, batch, precision, c)
        else:
            raise InputError("give all of tp, pp, dp or none of them", field="tp/pp/dp", value=(tp, pp, dp))
    if tp * pp * dp != n_gpus:
        raise InputError("tp * pp * dp must equal n_gpus", field="tp/pp/dp", value=(tp, pp, dp),
                         allowed=f"a factorisation of {n_gpus}")
    return _evaluate(platform, model, n_gpus, precision, batch, seq, tp, pp, dp, c)


_MFU_CACHE: dict[tuple, float] = {}


def mfu_at_scale(platform: Platform, model: LLM | str, n_gpus, precision: str = "bf16") -> np.ndarray:
    """MFU [-] for each job size in ``n_gpus`` (array), automatic parallelism and the model's batch.

    Sizes the model cannot fit on give NaN. Results are cached per
    (platform, model, size, precision), so a cluster simulation can call this
    for every job cheaply.
    """
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    sizes = np.asarray(n_gpus)
    flat = sizes.reshape(-1)
    out = np.empty(flat.shape, dtype=float)
    pkey = (platform.id, platform.bf16_dense_tflops, platform.fp8_dense_tflops, platform.hbm_gb,
            platform.scale_up_domain_gpus, platform.scale_up_bandwidth_gb_s, platform.scale_out_bandwidth_gb_s)
    for i, n in enumerate(flat):
        key = (pkey, model.id, int(n), precision)
        if key not in _MFU_CACHE:
            try:
                _MFU_CACHE[key] = training_perf(platform, model, int(n), precision).mfu
            except InputError:
                _MFU_CACHE[key] = float("nan")
        out[i] = _MFU_CACHE[key]
    return out.reshape(sizes.shape)
