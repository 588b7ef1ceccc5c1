"""One roofline of an inference engine step, shared by the steady-state model and both serving simulators.

A replica of ``model`` on ``g`` GPUs (tensor parallel inside the NVLink
domain) runs iterations; one iteration decodes ``n`` sequences holding ``C``
KV-cache tokens and prefills ``P`` prompt tokens (prompt lengths ``p_i``):

    t_step = max(W / BW, n 2 N_active / F) + P 2 N_active / F + attn_s_per_ctx_token C
             + prefill_attn_s_per_token2 sum(p_i^2) + (n + P) e h L / BW + comm

* the weight GEMMs are memory-bound at small batch (weights streamed from
  HBM once per step) and compute-bound at large batch; the decode pass
  takes the roofline, the prompts' GEMMs add their FLOPs (a prefill-only
  step is one pass over its prompt tokens);
* mixture of experts: the shared weights take that roofline, and each of the
  E experts per layer its own over the tokens routed to it (binomial, k/E
  per token; :func:`expert_pass_s`): an expert no token reaches is not read,
  so a small decode batch reads few experts and a large one all of them, and
  between ~F / (2 BW) and E / k times that many tokens the shared GEMMs are
  compute-bound while the experts are still memory-bound; the experts' grouped
  GEMMs run at ``expert_gemm_efficiency_vs_dense`` of the dense GEMMs'
  efficiency (fitted to a same-harness MoE/dense pair), prefill and decode alike;
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
* pipeline parallelism (``pp`` > 1; a replica of tp x pp GPUs, stage by
  stage in one NVLink domain or filling whole domains, :func:`check_layout`):
  each stage holds layers / pp of the weights and of every sequence's KV cache, so the replica's memory is the sum over
  its tp x pp GPUs (pp not dividing the layers: stages of ceil(layers / pp) and fewer layers, as engines split
  them, and the deepest stage's GPUs bound the weights and KV cache the replica holds); a stage has no
  all-reduce when tp = 1; the hidden state of each token goes from stage to stage (h x 2 B of 16-bit activations per
  send from each GPU of a stage to its peer, :func:`dctwin.perf.collectives.send_s` at the scale-up link's derated
  rate and the all-reduce's latency; a send between two domains on the
  sending GPU's scale-out NIC at its derated rate and the network step's
  latency ``latency_scale_out_s``). The in-flight sequences are split into
  min(pp, n) micro-batches, which keep the stages busy in turn:
  :meth:`StepCost.step_time_s` is then the time per output token (TPOT), the
  sum of the pp stages' times on one micro-batch plus the pp - 1 sends, and
  each stage works through all micro-batches in that time, so a replica's
  throughput n / TPOT is what one stage's step allows (sends charged, not
  overlapped: the conservative side); with uneven stages the deepest one
  working through the micro-batches in turn sets the cycle when that is
  longer (``stage_imbalance``). The coefficients below stay those of
  the whole model on tp GPUs (the sum over the stages).
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
from dctwin.perf.collectives import Link, send_s
from dctwin.perf.hardware import (
    WEIGHT_BYTES,
    check_precision,
    hbm_bytes_per_gpu,
    hbm_bytes_per_s,
    link_bytes_per_s_one_way,
    serving_rates,
)
from dctwin.perf.models import LLM, elementwise_bytes, expert_params, kv_head_replicas, tensor_parallel_problem
from dctwin.perf.params import PerfParams, packaged_perf_params

__all__ = ["ACTIVATION_BYTES", "StepCost", "check_layout", "check_replica", "domains_spanned", "expert_params",
           "expert_pass_s",
           "gemm_inputs_per_layer", "step_cost", "usable_bytes_per_gpu"]

# Bytes of one activation value the tensor-parallel all-reduces and the pipeline stage sends carry: 16-bit
# (the engines keep the residual stream in BF16/FP16 under FP8 and FP4 weights).
ACTIVATION_BYTES = 2


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
    expert_s_per_token: float = 0.0    # of gemm_s_per_seq, the FLOPs of one token's k routed expert copies [s]
    pp: int = 1                        # pipeline stages of the replica [-]
    send_s_per_token: float = 0.0      # one stage-to-stage send of one token's hidden state [s] (0 if pp = 1)
    send_s_per_pass: float = 0.0       # fixed cost of one stage-to-stage send [s] (0 if pp = 1)
    stage_imbalance: float = 1.0       # pp x layers of the deepest stage / layers: 1 when pp divides the layers [-]
    kv_bytes_per_token: float = 0.0    # KV cache one cached token fills in the replica, every copy counted [B]

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

    def gemm_s(self, n_decode, prefill_tokens):
        """Weight GEMMs of one iteration [s]; arguments broadcast as numpy arrays.

        With decoding sequences: the decode pass (:meth:`gemm_pass_s`) plus the prompts' FLOPs; an expert
        that only prompt tokens reach is still read once. Without: one pass over the prompt tokens.
        """
        n = np.asarray(n_decode, dtype=float)
        p = np.asarray(prefill_tokens, dtype=float)
        dec = self.gemm_pass_s(np.maximum(n, 1.0))
        if self.expert_weights_s:
            miss = 1.0 - self.expert_hit
            dec = dec + self.expert_weights_s * (miss ** np.maximum(n, 1.0) - miss ** np.maximum(n + p, 1.0))
        out = np.where(n > 0, dec + p * self.prefill_s_per_token, self.gemm_pass_s(np.maximum(p, 1.0)))
        return out if out.ndim else float(out)

    def gemm_pass_s(self, tokens):
        """Weight GEMMs of one forward pass over ``tokens`` tokens [s], each weight compute- or memory-bound on its own.

        Dense: max(read all weights, FLOPs). MoE: the shared weights likewise, plus, for each of the E experts,
        the expectation over the tokens routed to it (binomial, k/E per token) of max(read it if reached, its
        tokens' FLOPs): a step can be compute-bound in its shared layers and memory-bound in its experts.
        """
        t = np.asarray(tokens, dtype=float)
        if not self.expert_weights_s:
            return np.maximum(self.weights_s, t * self.gemm_s_per_seq)
        shared = np.maximum(self.weights_s - self.expert_weights_s,
                            t * (self.gemm_s_per_seq - self.expert_s_per_token))
        return shared + expert_pass_s(t, self.expert_hit, self.expert_weights_s,
                                      self.expert_s_per_token / self.expert_hit)

    def decode_step_coeffs(self, n_decode: int) -> tuple[float, float]:
        """(a [s], b [s per cached token]) of a decode-only step of ``n_decode`` >= 1 sequences holding C cached
        tokens: its time is a + b C, :meth:`step_time_s` in the closed form the request-level model sums."""
        if self.pp == 1:
            return (float(self.gemm_pass_s(n_decode)) + self.token_s * n_decode + self.comm_s_per_pass,
                    self.attn_s_per_ctx_token)
        k = min(max(n_decode, 1), self.pp)                  # micro-batches, as in step_time_s
        n, cycle = n_decode / k, max(1.0, k * self.stage_imbalance / self.pp)
        a = ((float(self.gemm_pass_s(n)) + self.token_s * n + self.comm_s_per_pass) * cycle
             + (self.pp - 1) * (self.send_s_per_token * n + self.send_s_per_pass))
        return a, self.attn_s_per_ctx_token / k * cycle

    def micro_batches(self, n_decode):
        """Micro-batches a step of ``n_decode`` sequences runs in flight through the pipeline: min(pp, n), at
        least 1 [-] (1 when pp = 1)."""
        return np.clip(np.asarray(n_decode, dtype=float), 1.0, self.pp)

    def step_time_s(self, n_decode, ctx_tokens, prefill_tokens, prefill_tokens_sq):
        """Duration of one iteration [s]; arguments broadcast as numpy arrays.

        ``n_decode``: decoding sequences; ``ctx_tokens``: tokens they hold in
        the KV cache; ``prefill_tokens``: prompt tokens prefilled in the step;
        ``prefill_tokens_sq``: sum of the squared prompt lengths [token^2].

        With ``pp`` > 1 the step is the time per output token of a pipeline (module docstring): the same
        terms over one of min(pp, n) micro-batches (prompts ride with them; a prefill-only step is one
        micro-batch), plus pp - 1 sends of its tokens' hidden states. With uneven stages (pp not dividing the
        layers) the deepest stage, k micro-batches in turn, sets the cycle when it is longer than the stages'
        sum on one: the terms are scaled by max(1, k x ``stage_imbalance`` / pp).
        """
        n = np.asarray(n_decode, dtype=float)
        p = np.asarray(prefill_tokens, dtype=float)
        ctx = np.asarray(ctx_tokens, dtype=float)
        p_sq = np.asarray(prefill_tokens_sq, dtype=float)
        if self.pp > 1:
            k = self.micro_batches(n)
            n, p, ctx, p_sq = n / k, p / k, ctx / k, p_sq / k
        gemm = self.gemm_s(n, p)
        passes = (n > 0).astype(float) + (p > 0)
        t = (gemm + self.attn_s_per_ctx_token * ctx + self.prefill_attn_s_per_token2 * p_sq
             + self.token_s * (n + p) + self.comm_s_per_pass * passes)
        if self.pp > 1:
            t = (t * np.maximum(1.0, k * self.stage_imbalance / self.pp)
                 + (self.pp - 1) * (self.send_s_per_token * (n + p) + self.send_s_per_pass))
        return t if t.ndim else float(t)


def usable_bytes_per_gpu(platform: Platform, c) -> float:
    """Memory one serving GPU gives weights and KV cache [B]: what it holds less the runtime reserve (decimal GB)."""
    return hbm_bytes_per_gpu(platform) - c["runtime_reserve_gb_per_gpu"] * 1e9


def check_layout(platform: Platform, model: LLM, g: int, pp: int) -> None:
    """Refuse a tensor-parallel size ``g`` or pipeline depth ``pp`` the replica cannot run (InputError).

    A replica of g x pp GPUs lies inside one NVLink domain, or fills whole domains with g dividing the domain's
    GPUs, so that no stage straddles two domains (its all-reduce stays on NVLink; only sends cross the network).
    """
    domain = platform.scale_up_domain_gpus
    if g < 1 or g > domain or model.attention_heads % g:
        raise InputError("gpus_per_replica must divide the attention heads and fit one NVLink domain",
                         field="gpus_per_replica", value=g,
                         allowed=f"a divisor of {model.attention_heads} up to {domain}")
    if isinstance(pp, bool) or not isinstance(pp, int) or pp < 1 or pp > model.layers:
        raise InputError("pp (pipeline stages) must be a whole number of at most one stage per layer", field="pp",
                         value=pp, allowed=f"1 to {model.layers} (the layers)")
    if g * pp > domain and (domain % g or (g * pp) % domain):
        raise InputError(f"a replica of gpus_per_replica x pp = {g} x {pp} GPUs must fit one NVLink domain of "
                         f"{domain} GPUs or fill whole domains (gpus_per_replica dividing {domain}), so that no "
                         "stage straddles two domains", field="pp", value=pp,
                         allowed=f"pp with {g} x pp <= {domain} or a multiple of {domain}")


def domains_spanned(platform: Platform, gpus: int) -> int:
    """NVLink domains a replica of ``gpus`` GPUs spans (``check_layout``: one, or whole domains) [-]."""
    return max(1, -(-int(gpus) // platform.scale_up_domain_gpus))


def _stage_sends(platform: Platform, model: LLM, g: int, pp: int, link_bw: float, c) -> tuple[float, float]:
    """(bytes-dependent, fixed) time of one stage-to-stage send, the mean over the replica's pp - 1 sends [s].

    Inside a domain a send runs on NVLink (``allreduce_latency_s``); between domains (stages packed domain by
    domain, so ``domains_spanned`` - 1 sends cross) on the sending GPU's scale-out NIC at ``latency_scale_out_s``.
    """
    nvl = Link(link_bw, c["allreduce_latency_s"])
    fixed = send_s(0.0, nvl)
    per_tok = send_s(model.hidden_size * ACTIVATION_BYTES, nvl) - fixed
    cross = domains_spanned(platform, g * pp) - 1
    if cross == 0:
        return per_tok, fixed
    net = Link(link_bytes_per_s_one_way(platform.scale_out_bandwidth_gb_s, c), c["latency_scale_out_s"], nodes=2)
    net_fixed = send_s(0.0, net)
    net_tok = send_s(model.hidden_size * ACTIVATION_BYTES, net) - net_fixed
    inside = pp - 1 - cross
    return (inside * per_tok + cross * net_tok) / (pp - 1), (inside * fixed + cross * net_fixed) / (pp - 1)


def check_replica(platform: Platform, model: LLM, g: int, pp: int) -> None:
    """:func:`check_layout`, and refuse a tensor-parallel size ``g`` the model's heads, KV heads or MLP width
    cannot be split over (:func:`dctwin.perf.models.tensor_parallel_problem`; InputError)."""
    check_layout(platform, model, g, pp)
    problem = tensor_parallel_problem(model, g, training=False)
    if problem:
        raise InputError(f"{model.id} cannot be split over {g} tensor-parallel GPUs", field="gpus_per_replica",
                         value=g, allowed=problem)


def step_cost(platform: Platform, model: LLM, gpus_per_replica: int, precision: str = "fp8",
              params: PerfParams | None = None, pp: int = 1) -> StepCost:
    """Step-cost coefficients of one replica of ``model`` on ``gpus_per_replica`` (tensor-parallel) x ``pp``
    (pipeline stages) GPUs of ``platform``, with the run's performance constants ``params`` (None: the packaged
    ones)."""
    check_precision(platform, precision)
    g = int(gpus_per_replica)
    check_replica(platform, model, g, pp)
    c = (params or packaged_perf_params()).inference
    weights_b = model.params_total * WEIGHT_BYTES[precision]
    experts_b = expert_params(model) * WEIGHT_BYTES[precision]
    experts_active = expert_params(model) * (model.experts_per_token / model.experts if model.is_moe else 0.0)
    free_b = g * pp * usable_bytes_per_gpu(platform, c) - weights_b  # each stage: layers / pp of weights and KV
    rates = serving_rates(platform, precision, c)
    kv_tok_b = (model.kv_bytes_per_token(2.0 if rates.attention_precision == "bf16" else c["kv_bytes_per_value"])
                * kv_head_replicas(model, g))             # K/V heads copied when g exceeds them
    deepest = -(-model.layers // pp)                       # layers of the deepest stage
    if model.layers % pp:   # uneven: the deepest stage's GPUs hold its share of the weights and of each token's KV
        share = deepest / model.layers
        free_b = (g * usable_bytes_per_gpu(platform, c) - weights_b * share) / share
    kv_tokens = int(max(free_b, 0.0) * c["kv_free_fraction"] // kv_tok_b)
    if kv_tokens < 1:
        raise InputError(f"{model.id} at {precision} does not fit on {g * pp} x {platform.gpu_name} (TP{g} PP{pp})",
                         field="gpus_per_replica", value=g,
                         allowed="more GPUs per replica (tensor or pipeline parallel) or a lower precision")
    peak = rates.gemm_peak_flops_s * g * rates.gemm_efficiency
    attn_peak = rates.attention_peak_flops_s * g * rates.attention_efficiency
    bw = hbm_bytes_per_s(platform, c, g)
    attn_per_ctx = max(kv_tok_b / bw, model.decode_attention_flops_per_ctx_token() / attn_peak)
    expert_s = 2.0 * experts_active / (peak * c["expert_gemm_efficiency_vs_dense"])  # one token's k expert copies
    token_gemm_s = 2.0 * (model.params_active - experts_active) / peak + expert_s  # one token through every GEMM
    comm_tok = comm_pass = 0.0
    link_bw = link_bytes_per_s_one_way(platform.scale_up_bandwidth_gb_s, c)
    if g > 1:
        comm_tok = model.layers * 2 * model.hidden_size * ACTIVATION_BYTES * 2 * (g - 1) / g / link_bw
        comm_pass = 2 * model.layers * c["allreduce_latency_s"]
    send_tok = send_pass = 0.0
    if pp > 1:  # each GPU of a stage holds the whole hidden state after its all-reduce and sends it to its peer
        send_tok, send_pass = _stage_sends(platform, model, g, pp, link_bw, c)
    return StepCost(
        weights_s=weights_b / bw,
        gemm_s_per_seq=token_gemm_s,
        attn_s_per_ctx_token=attn_per_ctx,
        prefill_s_per_token=token_gemm_s,
        prefill_attn_s_per_token2=0.5 * model.attention_flops_per_token(1.0) / attn_peak,
        comm_s_per_token=comm_tok,
        comm_s_per_pass=comm_pass,
        kv_capacity_tokens=kv_tokens,
        max_batch=int(c["max_batch_per_replica"]),
        expert_weights_s=experts_b / bw,
        expert_hit=model.experts_per_token / model.experts if model.is_moe else 1.0,
        expert_s_per_token=expert_s,
        elementwise_s_per_token=(elementwise_bytes(model, c["elementwise_bytes_per_token_hidden"],
                                                   c["elementwise_mlp_bytes_per_token_hidden"])
                                 + rates.quant_bytes_per_value * gemm_inputs_per_layer(model)) * model.layers / bw,
        pp=pp, send_s_per_token=send_tok, send_s_per_pass=send_pass, stage_imbalance=pp * deepest / model.layers,
        kv_bytes_per_token=kv_tok_b,
    )


def gemm_inputs_per_layer(model: LLM) -> float:
    """Activation values one token feeds into a layer's weight GEMMs [-]: the QKV, attention-output and MLP
    gate/up inputs (h each) and the MLP down input of each of its k experts (f each; k = 1 for a dense model)."""
    return 3.0 * model.hidden_size + model.experts_per_token * model.ffn_hidden_size


def expert_pass_s(tokens, hit: float, read_s: float, flops_s: float):
    """Expected time of the routed experts in one pass over ``tokens`` tokens [s] (arrays broadcast).

    Each of E = 1 / ``hit`` experts gets N ~ Binomial(tokens, hit) tokens and takes max(R 1[N > 0], N c):
    R = ``read_s`` / E reads its weights, c = ``flops_s`` / E is one token's FLOPs in it (``flops_s``: one
    token through every expert). With m = floor(R / c) tokens to break even, F the binomial CDF, q = hit:
    E[max] = t q c + R (F(m; t, q) - (1 - q)^t) - c t q F(m - 1; t - 1, q), summed over the E experts.
    Memory-bound (m >= t) this is the read of the experts reached, R E (1 - (1 - q)^t).
    """
    from scipy.special import betainc  # only MoE steps need it; importing it costs ~0.3 s

    t = np.maximum(np.asarray(tokens, dtype=float), 1.0)
    e = 1.0 / hit
    r, c = read_s / e, flops_s / e
    m = np.floor(r / c) if c > 0 else np.inf
    below = m < t                                           # break-even inside the support: some experts compute-bound
    a = np.where(below, t - m, 1.0)
    cdf_m = np.where(below, betainc(a, np.where(below, m + 1.0, 1.0), 1.0 - hit), 1.0)
    cdf_m1 = np.where(below & (m >= 1), betainc(a, np.where(below, np.maximum(m, 1.0), 1.0), 1.0 - hit),
                      np.where(m >= 1, 1.0, 0.0))
    one = t * hit * c + r * (cdf_m - (1.0 - hit) ** t) - c * t * hit * cdf_m1
    return e * one
