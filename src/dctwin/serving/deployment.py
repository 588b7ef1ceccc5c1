"""A serving deployment (model, precision, replicas of ``g`` GPUs) and the cost of one engine step.

The step cost is the roofline of :mod:`dctwin.perf.inference` written per
engine iteration instead of per steady-state batch, so that a request-level
simulator can charge each iteration for the sequences actually in it:

    t_step = gemm + attn_s_per_ctx_token * C + prefill_s_per_token * P
             + prefill_attn_s_per_token2 * sum(p_i^2) + comm

* ``gemm = max(W / BW, n * 2 N / F)`` for the ``n`` decoding sequences (the
  weights are read once per step; compute-bound at large ``n``); a step with
  prefill only takes ``max(W / BW, P * 2 N / F)``;
* ``C``: tokens held in the KV cache by the decoding sequences (attention
  reads them all; the larger of the memory and compute time per token);
* ``P``: prompt tokens prefilled in the step, ``p_i`` each prompt's length
  (causal attention over a prompt costs ``attention_flops_per_token(p/2)`` per token);
* ``comm``: tensor-parallel all-reduces, as in ``dctwin.perf``.

Every constant (efficiencies, KV share, reserve) comes from
``perf/data/calibration.yaml`` through :func:`dctwin.perf.params.load_params`;
at a steady batch ``B`` with mean prompt ``I`` and output ``O`` the step equals
``dctwin.perf.inference_perf``'s ``tpot_s`` (``tests/test_serving_step.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dctwin.catalog import get_platform
from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import WEIGHT_BYTES, check_precision, peak_flops
from dctwin.perf.models import LLM, get_model
from dctwin.perf.params import load_params

__all__ = ["Deployment", "StepCost", "step_cost"]


@dataclass(frozen=True)
class StepCost:
    """Per-iteration cost coefficients of one replica (all times in [s])."""

    weights_s: float                   # read all weights from HBM once [s]
    gemm_s_per_seq: float              # weight FLOPs of one decoded token at the achieved peak [s]
    attn_s_per_ctx_token: float        # attention over one cached token (memory or compute bound) [s]
    prefill_s_per_token: float         # weight FLOPs of one prompt token [s]
    prefill_attn_s_per_token2: float   # causal attention of a prompt of p tokens costs this x p^2 [s]
    comm_s_per_token: float            # all-reduce bytes of one token on the NVLink [s] (0 if g = 1)
    comm_s_per_pass: float             # fixed all-reduce latency of one forward pass [s] (0 if g = 1)
    kv_capacity_tokens: int            # tokens the KV cache of one replica holds [-]
    max_batch: int                     # most sequences in flight per replica [-]

    def step_time_s(self, n_decode, ctx_tokens, prefill_tokens, prefill_tokens_sq):
        """Duration of one iteration [s]; arguments broadcast as numpy arrays.

        ``n_decode``: decoding sequences; ``ctx_tokens``: tokens they hold in
        the KV cache; ``prefill_tokens``: prompt tokens prefilled in the step;
        ``prefill_tokens_sq``: sum of the squared prompt lengths [token^2].
        """
        n = np.asarray(n_decode, dtype=float)
        p = np.asarray(prefill_tokens, dtype=float)
        pre_gemm = p * self.prefill_s_per_token
        gemm = np.where(n > 0, np.maximum(self.weights_s, n * self.gemm_s_per_seq) + pre_gemm,
                        np.maximum(self.weights_s, pre_gemm))
        passes = (n > 0).astype(float) + (p > 0)
        t = (gemm + self.attn_s_per_ctx_token * np.asarray(ctx_tokens, dtype=float)
             + self.prefill_attn_s_per_token2 * np.asarray(prefill_tokens_sq, dtype=float)
             + self.comm_s_per_token * (n + p) + self.comm_s_per_pass * passes)
        return t if t.ndim else float(t)


def step_cost(platform: Platform, model: LLM, gpus_per_replica: int, precision: str = "fp8",
              params: dict | None = None) -> StepCost:
    """Step-cost coefficients of one replica of ``model`` on ``gpus_per_replica`` GPUs of ``platform``."""
    check_precision(platform, precision)
    g = int(gpus_per_replica)
    if g < 1 or g > platform.scale_up_domain_gpus or model.attention_heads % g:
        raise InputError("gpus_per_replica must divide the attention heads and fit one NVLink domain",
                         field="gpus_per_replica", value=g,
                         allowed=f"a divisor of {model.attention_heads} up to {platform.scale_up_domain_gpus}")
    c = dict(load_params()["inference"])
    c.update(params or {})
    weights_b = model.params_total * WEIGHT_BYTES[precision]
    free_b = g * (platform.hbm_gb - c["runtime_reserve_gb_per_gpu"]) * 1e9 - weights_b
    kv_tok_b = model.kv_bytes_per_token(2.0 if precision == "bf16" else c["kv_bytes_per_value"])
    kv_tokens = int(max(free_b, 0.0) * c["kv_free_fraction"] // kv_tok_b)
    if kv_tokens < 1:
        raise InputError(f"{model.id} at {precision} does not fit on {g} x {platform.gpu_name}",
                         field="gpus_per_replica", value=g, allowed="more GPUs per replica or a lower precision")
    peak = peak_flops(platform, precision) * g * c["compute_efficiency"]
    bw = platform.hbm_bandwidth_tb_s * 1e12 * g * c["hbm_efficiency"]
    attn_per_ctx = max(kv_tok_b / bw, model.attention_flops_per_token(1.0) / peak)
    comm_tok = comm_pass = 0.0
    if g > 1:
        link_bw = platform.scale_up_bandwidth_gb_s / 2 * 1e9 * c["link_efficiency"]
        comm_tok = model.layers * 2 * model.hidden_size * 2 * 2 * (g - 1) / g / link_bw
        comm_pass = 2 * model.layers * c["allreduce_latency_s"]
    return StepCost(
        weights_s=weights_b / bw,
        gemm_s_per_seq=2.0 * model.params_active / peak,
        attn_s_per_ctx_token=attn_per_ctx,
        prefill_s_per_token=2.0 * model.params_active / peak,
        prefill_attn_s_per_token2=0.5 * model.attention_flops_per_token(1.0) / peak,
        comm_s_per_token=comm_tok,
        comm_s_per_pass=comm_pass,
        kv_capacity_tokens=kv_tokens,
        max_batch=int(c["max_batch_per_replica"]),
    )


@dataclass(frozen=True)
class Deployment:
    """``replicas`` copies of ``model`` at ``precision``, each on ``gpus_per_replica`` GPUs of ``platform``.

    ``max_prefill_tokens`` is the engine's per-iteration token budget for
    prompts (TensorRT-LLM ``max_num_tokens``, vLLM ``max_num_batched_tokens``).
    """

    platform: str
    model: str
    replicas: int
    gpus_per_replica: int
    precision: str = "fp8"
    max_prefill_tokens: int = 8192     # prompt tokens one iteration may prefill (engine setting) [-]

    def __post_init__(self):
        if int(self.replicas) < 1:
            raise InputError("a deployment needs at least one replica", field="replicas", value=self.replicas)
        if int(self.max_prefill_tokens) < 1:
            raise InputError("max_prefill_tokens must be >= 1", field="max_prefill_tokens",
                             value=self.max_prefill_tokens)

    @property
    def n_gpus(self) -> int:
        """GPUs of the whole deployment [-]."""
        return self.replicas * self.gpus_per_replica

    @cached_property
    def cost(self) -> StepCost:
        """Step cost of one replica (see :func:`step_cost`)."""
        return step_cost(get_platform(self.platform), get_model(self.model), self.gpus_per_replica, self.precision)

    def label(self) -> str:
        """e.g. 'llama-2-70b fp8 on 2 x TP2 hgx-h100 (4 GPUs)'."""
        return (f"{self.model} {self.precision} on {self.replicas} x TP{self.gpus_per_replica} {self.platform} "
                f"({self.n_gpus} GPUs)")
