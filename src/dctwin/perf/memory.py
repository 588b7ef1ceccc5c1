"""Memory of one GPU in a training layout: weights, gradients, optimizer states and activations.

* states (pre-training, full fine-tuning): Megatron-LM's distributed
  optimizer keeps the model's weights and a gradient buffer on every
  data-parallel rank and shards the FP32 master weights and two Adam moments
  (12 B) over the data- and context-parallel ranks. Weights are 16-bit, or
  8-bit with ``fp8_params`` (NeMo/Megatron fp8_params, Transformer Engine
  fp8_model_init; the FP32 master stays in the sharded optimizer); the
  gradient buffer is FP32, or 16-bit with ``grad_precision`` 'bf16'
  (Megatron grad_reduce_in_fp32 off); without the distributed optimizer
  (``distributed_optimizer`` false: NeMo's fused_adam under megatron_amp_O2)
  every rank holds the whole master weights and moments;
* LoRA: the frozen base weights (16 or 8 bit as above), no gradients or
  optimizer states for them; the small adapters carry full states;
* activations, counted per layer and token from what the Transformer Engine /
  Megatron layer saves for its backward pass (:func:`layer_activation_stored`,
  after Korthikanti et al., arXiv:2205.05198, with sequence parallelism,
  divided by tp); full recomputation keeps only each layer's 16-bit input,
  and ``Layout.recompute_layers`` recomputes only that many layers of a stage
  (Megatron recompute_method block, recompute_num_layers). The first
  pipeline stage holds the activations of as many micro-batches as the
  schedule keeps in flight;
* the FP32 logits of the last stage: micro-batch tokens x vocabulary x 4 B / tp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from dctwin.perf.layout import (
    Layout,
    TrainingJob,
    lora_params,
    micro_batch_tokens,
    micro_batches,
    stage_fraction,
    stage_layers,
)
from dctwin.perf.models import ACTIVATION_VALUE_BYTES, LLM, expert_params, moe_activation
from dctwin.perf.schedule import activation_in_flight

__all__ = ["MemoryUse", "grad_bytes_per_param", "layer_activation_stored", "params_per_gpu",
           "recompute_layers_needed", "training_memory", "weight_bytes_per_param"]

ACT_BYTES = ACTIVATION_VALUE_BYTES  # a 16-bit activation value, as the MoE count uses [B]
FP8_BYTES = 1.0    # its FP8 cast [B]
FP32_BYTES = 4.0   # an FP32 softmax statistic [B]


@dataclass(frozen=True)
class MemoryUse:
    """Bytes one GPU holds, by kind [GB]."""

    weights_gb: float
    grads_and_optimizer_gb: float
    activations_gb: float

    @property
    def total_gb(self) -> float:
        """Everything the GPU must hold [GB]."""
        return self.weights_gb + self.grads_and_optimizer_gb + self.activations_gb


def params_per_gpu(model: LLM, tp: int, pp: int, ep: int) -> float:
    """Parameters held by one GPU; MoE experts are also sharded over the expert-parallel ranks [-]."""
    if not model.is_moe:
        return model.params_total / (tp * pp)
    experts = expert_params(model)
    return (model.params_total - experts + experts / ep) / (tp * pp)


def _attention_stored(job: TrainingJob) -> float:
    """Bytes one token leaves in a layer's attention block for the backward pass [B].

    The norm's 16-bit input; the QKV GEMM's input (its FP8 cast in FP8
    training; under LoRA the frozen GEMM keeps none but the adapters keep the
    16-bit input); Q, K, V and the output O, which flash/fused attention keeps
    instead of the s x s scores (8-bit with FP8 attention), plus its FP32
    softmax statistics per head; the output projection's input is O itself
    in 16-bit training, else its own FP8 cast (under LoRA: the output
    adapter's 16-bit input when attention ran in FP8). No dropout masks: the
    stacks modelled train without dropout.
    """
    m = job.model
    h = m.hidden_size
    fp8 = job.fp8_recipe
    lora = job.mode == "lora"
    gemm_in = ACT_BYTES if lora or not fp8 else FP8_BYTES
    attn_val = FP8_BYTES if job.attention_precision == "fp8" else ACT_BYTES
    out = ACT_BYTES * h + gemm_in * h + attn_val * (2 * h + m.kv_dim_per_layer) + FP32_BYTES * m.attention_heads
    if lora:
        out += ACT_BYTES * h if attn_val != ACT_BYTES else 0.0
    elif fp8:
        out += FP8_BYTES * h
    return out


def _mlp_stored(job: TrainingJob) -> float:
    """Bytes one token leaves in a layer's MLP (or expert) block for the backward pass [B].

    The norm's 16-bit input; the first GEMM's input (FP8 cast in FP8
    training; none for a frozen LoRA base); the activation function's input,
    2 f values for a gated (SwiGLU) MLP or f for GeLU, 16-bit or FP8 with
    ``fp8_activation_store``; the second GEMM's input (f values). A MoE layer
    keeps its expert block's count (:func:`dctwin.perf.models.moe_activation`).
    """
    m = job.model
    h, f = m.hidden_size, m.ffn_hidden_size
    fp8 = job.fp8_recipe
    act_in = FP8_BYTES if job.fp8_activation_store else ACT_BYTES
    if m.is_moe:
        moe = moe_activation(m)
        block = moe.stored - (moe.weight_grad_only if job.mode == "lora" else 0.0)
        if fp8 and job.mode != "lora":
            block -= moe.gemm_inputs * (ACT_BYTES - FP8_BYTES) / ACT_BYTES
        block -= m.experts_per_token * 2 * f * (ACT_BYTES - act_in)
        return ACT_BYTES * h + block
    gemm_in = 0.0 if job.mode == "lora" else (FP8_BYTES if fp8 else ACT_BYTES)
    return ACT_BYTES * h + gemm_in * (h + f) + act_in * (m.mlp_matrices - 1) * f


def layer_activation_stored(job: TrainingJob) -> float:
    """Bytes one token leaves in one layer for its backward pass without recomputation, before tensor- and
    sequence-parallel sharding [B]."""
    return _attention_stored(job) + _mlp_stored(job)


def _activation_bytes(job: TrainingJob, lay: Layout, m: int, c: dict) -> float:
    model = job.model
    layers_stage = stage_layers(model, lay.pp)
    share = lay.recompute_share(layers_stage)
    kept = c["activation_bytes_full_recompute"] * model.hidden_size
    per_token = share * kept + (1.0 - share) * layer_activation_stored(job)
    tokens = micro_batch_tokens(job, lay)
    held = activation_in_flight(lay.schedule, lay.pp, m, lay.virtual_stages)
    acts = per_token * tokens * layers_stage / lay.tp * held
    logits = tokens * model.vocab_size * 4.0 / lay.tp
    return acts + logits


def weight_bytes_per_param(job: TrainingJob, c: dict) -> float:
    """Bytes of one model weight as held and read by the GEMMs: 8-bit with fp8_params in FP8/FP4 training [B]."""
    return c["fp8_weight_bytes_per_param"] if job.fp8_params else c["weight_bytes_per_param"]


def grad_bytes_per_param(job: TrainingJob, c: dict) -> float:
    """Bytes of one gradient in the data-parallel buffer, as held and as reduce-scattered: FP32 unless
    grad_precision 'bf16' (Megatron grad_reduce_in_fp32) [B]."""
    return c["grad_bytes_per_param_bf16"] if job.grad_precision == "bf16" else c["grad_bytes_per_param_fp32"]


def training_memory(job: TrainingJob, lay: Layout, c: dict) -> MemoryUse:
    """Memory one GPU needs for ``job`` in layout ``lay`` (``c``: the 'training' constants)."""
    m = micro_batches(job.batch_seqs, lay.dp, lay.micro_batch)
    held = params_per_gpu(job.model, lay.tp, lay.pp, lay.ep) * stage_fraction(job.model, lay.pp) * lay.pp
    shard = lay.dp * lay.cp if job.distributed_optimizer else 1   # ranks the master weights and moments span
    grad_b = grad_bytes_per_param(job, c)
    weights = held * weight_bytes_per_param(job, c)
    if job.mode == "lora":  # adapters: 16-bit weights, the gradient buffer, FP32 master and moments
        adapters = lora_params(job.model, job.lora_rank) * stage_fraction(job.model, lay.pp) / lay.tp
        states = adapters * (c["weight_bytes_per_param"] + grad_b + c["state_bytes_per_param_sharded"] / shard)
    else:
        states = held * (grad_b + c["state_bytes_per_param_sharded"] / shard)
    return MemoryUse(weights_gb=weights / 1e9, grads_and_optimizer_gb=states / 1e9,
                     activations_gb=_activation_bytes(job, lay, m, c) / 1e9)


def recompute_layers_needed(job: TrainingJob, lay: Layout, c: dict, budget_gb: float,
                            kept_all: MemoryUse | None = None) -> int | None:
    """Fewest layers per stage to recompute (Megatron block recompute) for ``lay`` to fit ``budget_gb``: 0 if it
    fits without, None if not even recomputing every layer fits [-]. ``kept_all``: the layout's memory without
    recomputation, if already known. Each recomputed layer frees the same bytes, so the count is a division."""
    if kept_all is None:
        kept_all = training_memory(job, replace(lay, recompute="none", recompute_layers=0), c)
    over_gb = kept_all.total_gb - budget_gb
    if over_gb <= 0:
        return 0
    model = job.model
    layers_stage = stage_layers(model, lay.pp)
    m = micro_batches(job.batch_seqs, lay.dp, lay.micro_batch)
    held = activation_in_flight(lay.schedule, lay.pp, m, lay.virtual_stages)
    tokens = micro_batch_tokens(job, lay)
    freed = layer_activation_stored(job) - c["activation_bytes_full_recompute"] * model.hidden_size
    saved_per_layer_gb = freed * tokens / lay.tp * held / 1e9
    layers = math.ceil(layers_stage)
    if saved_per_layer_gb <= 0 or over_gb > saved_per_layer_gb * layers_stage:
        return None
    return min(layers, math.ceil(over_gb / saved_per_layer_gb * (1 + 1e-9)))
