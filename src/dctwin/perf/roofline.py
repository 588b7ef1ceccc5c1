"""One roofline of an inference engine step, shared by the steady-state model and both serving simulators.

A replica of ``model`` on ``g`` GPUs (tensor parallel inside the NVLink
domain) runs iterations; one iteration decodes ``n`` sequences holding ``C``
KV-cache tokens and prefills ``P`` prompt tokens (prompt lengths ``p_i``):

    t_step = max(W(n + P) / BW, (n + P) 2 N_active / F) + attn_s_per_ctx_token C
             + prefill_attn_s_per_token2 sum(p_i^2) + (n + P) e h L / BW + comm

* the weight GEMMs are memory-bound at small batch (weights streamed from
  HBM once per step) and compute-bound at large batch;
* ``W(t)``: bytes of weights the step reads. Dense: all of them. Mixture of
  experts: the shared part plus the experts that ``t`` tokens route to, in
  expectation E (1 - (1 - k/E)^t) of E per layer, so a small decode batch
  reads few experts and a large one all of them;
* attention reads every cached token (memory- or compute-bound per token);
* between the GEMMs, the norms, activation functions, residual adds and
  casts stream each token's activations through HBM: ``e`` bytes per token,
  hidden unit and layer (``elementwise_bytes_per_token_hidden``, the count
  the training model uses for the same forward pass); a MoE layer streams
  its expert block's own count (k copies of the SwiGLU intermediates, the
  router outputs, the permute and the weighted combine,
  :func:`dctwin.perf.models.elementwise_bytes`) in place of the dense MLP's
  share. They do not overlap
  the GEMMs and do not shrink with FLOP/s, so a GPU with more bandwidth
  steps faster even when the GEMMs are compute-bound;
* causal attention over a prompt of p tokens costs ``attention_flops(p/2)``
  per token; tensor-parallel all-reduces: two per layer per token plus a
  fixed latency per forward pass.
* each operation runs at its own precision (``perf.hardware.serving_rates``):
  the weight GEMMs at the serving precision, attention at the precision the
  serving stack runs it (FP8 under FP4 and FP8 serving, BF16 under BF16).
  Under FP4 every GEMM input is first quantized to NVFP4, adding
  ``q (3 h + k f)`` bytes per token and layer to ``e h`` (q: 2 x 0.5625 B per
  value, f the MLP width, k experts per token; 1 for a dense model).

The constants (efficiencies, KV share, reserve) come from
``perf/data/calibration.yaml`` ('inference'), passed in as ``PerfParams``.
:func:`dctwin.perf.inference_perf` evaluates this at a steady batch;
``dctwin.serving`` charges it per iteration for the requests actually in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import WEIGHT_BYTES, check_precision, serving_rates
from dctwin.perf.models import LLM, elementwise_bytes
from dctwin.perf.params import PerfParams, packaged_perf_params

__all__ = ["StepCost", "expert_params", "gemm_inputs_per_layer", "step_cost"]


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
    expert_weights_s: float = 0.0      # of weights_s, the routed experts' share (MoE) [s]
    expert_hit: float = 1.0            # experts per token / experts, k / E [-]
    elementwise_s_per_token: float = 0.0   # norms, activations, residual adds of one token through HBM [s]

    @property
    def token_s(self) -> float:
        """Time charged per token outside the GEMMs and attention: all-reduce bytes + elementwise HBM traffic [s]."""
        return self.comm_s_per_token + self.elementwise_s_per_token

    def weights_read_s(self, tokens):
        """Time to stream the weights a step over ``tokens`` tokens touches [s] (MoE: only routed experts)."""
        if self.expert_weights_s == 0.0:
            return self.weights_s if np.ndim(tokens) == 0 else np.full(np.shape(tokens), self.weights_s)
        t = np.maximum(np.asarray(tokens, dtype=float), 1.0)
        out = self.weights_s - self.expert_weights_s * (1.0 - self.expert_hit) ** t
        return float(out) if out.ndim == 0 else out

    def step_time_s(self, n_decode, ctx_tokens, prefill_tokens, prefill_tokens_sq):
        """Duration of one iteration [s]; arguments broadcast as numpy arrays.

        ``n_decode``: decoding sequences; ``ctx_tokens``: tokens they hold in
        the KV cache; ``prefill_tokens``: prompt tokens prefilled in the step;
        ``prefill_tokens_sq``: sum of the squared prompt lengths [token^2].
        """
        n = np.asarray(n_decode, dtype=float)
        p = np.asarray(prefill_tokens, dtype=float)
        pre_gemm = p * self.prefill_s_per_token
        w_read = self.weights_read_s(n + p)
        gemm = np.where(n > 0, np.maximum(w_read, n * self.gemm_s_per_seq) + pre_gemm, np.maximum(w_read, pre_gemm))
        passes = (n > 0).astype(float) + (p > 0)
        t = (gemm + self.attn_s_per_ctx_token * np.asarray(ctx_tokens, dtype=float)
             + self.prefill_attn_s_per_token2 * np.asarray(prefill_tokens_sq, dtype=float)
             + self.token_s * (n + p) + self.comm_s_per_pass * passes)
        return t if t.ndim else float(t)


def step_cost(platform: Platform, model: LLM, gpus_per_replica: int, precision: str = "fp8",
              params: PerfParams | None = None) -> StepCost:
    """Step-cost coefficients of one replica of ``model`` on ``gpus_per_replica`` GPUs of ``platform``, with the
    run's performance constants ``params`` (None: the packaged ones)."""
    check_precision(platform, precision)
    g = int(gpus_per_replica)
    if g < 1 or g > platform.scale_up_domain_gpus or model.attention_heads % g:
        raise InputError("gpus_per_replica must divide the attention heads and fit one NVLink domain",
                         field="gpus_per_replica", value=g,
                         allowed=f"a divisor of {model.attention_heads} up to {platform.scale_up_domain_gpus}")
    c = (params or packaged_perf_params()).inference
    weights_b = model.params_total * WEIGHT_BYTES[precision]
    experts_b = expert_params(model) * WEIGHT_BYTES[precision]
    free_b = g * (platform.hbm_gb - c["runtime_reserve_gb_per_gpu"]) * 1e9 - weights_b
    rates = serving_rates(platform, precision, c)
    kv_tok_b = model.kv_bytes_per_token(2.0 if rates.attention_precision == "bf16" else c["kv_bytes_per_value"])
    kv_tokens = int(max(free_b, 0.0) * c["kv_free_fraction"] // kv_tok_b)
    if kv_tokens < 1:
        raise InputError(f"{model.id} at {precision} does not fit on {g} x {platform.gpu_name}",
                         field="gpus_per_replica", value=g, allowed="more GPUs per replica or a lower precision")
    peak = rates.gemm_peak_flops_s * g * rates.gemm_efficiency
    attn_peak = rates.attention_peak_flops_s * g * rates.attention_efficiency
    bw = platform.hbm_bandwidth_tb_s * 1e12 * g * c["hbm_efficiency"]
    attn_per_ctx = max(kv_tok_b / bw, model.attention_flops_per_token(1.0) / attn_peak)
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
        prefill_attn_s_per_token2=0.5 * model.attention_flops_per_token(1.0) / attn_peak,
        comm_s_per_token=comm_tok,
        comm_s_per_pass=comm_pass,
        kv_capacity_tokens=kv_tokens,
        max_batch=int(c["max_batch_per_replica"]),
        expert_weights_s=experts_b / bw,
        expert_hit=model.experts_per_token / model.experts if model.is_moe else 1.0,
        elementwise_s_per_token=(elementwise_bytes(model, c["elementwise_bytes_per_token_hidden"],
                                                   c["elementwise_mlp_bytes_per_token_hidden"])
                                 + rates.quant_bytes_per_value * gemm_inputs_per_layer(model)) * model.layers / bw,
    )


def expert_params(model: LLM) -> float:
    """Parameters in routed experts (0 for a dense model) [-].

    From total = shared + experts and active = shared + experts k / E:
    experts = (total - active) E / (E - k).
    """
    if not model.is_moe:
        return 0.0
    k, e = model.experts_per_token, model.experts
    return (model.params_total - model.params_active) * e / (e - k)


def gemm_inputs_per_layer(model: LLM) -> float:
    """Activation values one token feeds into a layer's weight GEMMs [-]: the QKV, attention-output and MLP
    gate/up inputs (h each) and the MLP down input of each of its k experts (f each; k = 1 for a dense model)."""
    return 3.0 * model.hidden_size + model.experts_per_token * model.ffn_hidden_size
