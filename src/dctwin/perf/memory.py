"""Memory of one GPU in a training layout: weights, gradients, optimizer states and activations.

* states (pre-training, full fine-tuning): Megatron-LM's distributed
  optimizer keeps 16-bit weights and 32-bit gradients on every
  data-parallel rank (6 B per parameter) and shards the FP32 master
  weights and two Adam moments (12 B) over the data- and context-parallel
  ranks;
* LoRA: the frozen base weights in 16 bit, no gradients or optimizer
  states for them; the small adapters carry full states;
* activations per layer and token (Korthikanti et al., arXiv:2205.05198,
  with sequence parallelism, divided by tp): 34 h bytes kept without
  recomputation, 2 h with full recomputation; LoRA keeps fewer (see
  calibration.yaml). A MoE layer keeps its expert block's own count
  (:func:`dctwin.perf.models.moe_activation`: k copies of the SwiGLU
  intermediates, router outputs, permuted inputs and expert outputs) in
  place of the dense MLP's 19 h. In FP8 training Transformer Engine keeps the GEMM
  inputs as their FP8 casts, halving that part. The first pipeline stage holds the activations of as
  many micro-batches as the schedule keeps in flight;
* the FP32 logits of the last stage: micro-batch tokens x vocabulary x 4 B / tp.
"""

from __future__ import annotations

from dataclasses import dataclass

from dctwin.perf.layout import Layout, TrainingJob, lora_params, stage_fraction
from dctwin.perf.models import LLM, layer_activation_bytes, moe_activation
from dctwin.perf.schedule import activation_in_flight

__all__ = ["MemoryUse", "params_per_gpu", "training_memory"]


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
    # total = dense + experts, active = dense + experts * k / E  =>  experts = (total - active) * E / (E - k)
    k, e = model.experts_per_token, model.experts
    experts = (model.params_total - model.params_active) * e / (e - k)
    return (model.params_total - experts + experts / ep) / (tp * pp)


def _activation_bytes(job: TrainingJob, lay: Layout, m: int, c: dict) -> float:
    model = job.model
    h, moe = model.hidden_size, moe_activation(model)
    if lay.recompute == "full":
        per_token = c["activation_bytes_full_recompute"] * h
    elif job.mode == "lora":  # frozen weights: inputs kept only for weight gradients are not stored
        per_token = layer_activation_bytes(model, c["activation_bytes_lora"],
                                           c["activation_bytes_mlp"] - c["activation_gemm_input_bytes_mlp"],
                                           moe.stored - moe.weight_grad_only)
    else:
        per_token = layer_activation_bytes(model, c["activation_bytes_no_recompute"], c["activation_bytes_mlp"],
                                           moe.stored)
    if lay.recompute != "full" and job.precision in ("fp8", "fp4"):  # GEMM inputs kept as their 8-bit casts
        if job.mode == "lora":
            per_token -= c["activation_gemm_input_bytes_lora"] * h / 2
        else:
            per_token -= layer_activation_bytes(model, c["activation_gemm_input_bytes"],
                                                c["activation_gemm_input_bytes_mlp"], moe.gemm_inputs) / 2
    tokens = lay.micro_batch * job.seq_tokens / lay.cp
    layers_stage = model.layers * stage_fraction(model, lay.pp)
    held = activation_in_flight(lay.schedule, lay.pp, m, lay.virtual_stages)
    acts = per_token * tokens * layers_stage / lay.tp * held
    logits = tokens * model.vocab_size * 4.0 / lay.tp
    return acts + logits


def training_memory(job: TrainingJob, lay: Layout, c: dict) -> MemoryUse:
    """Memory one GPU needs for ``job`` in layout ``lay`` (``c``: the 'training' constants)."""
    m = max(1, job.batch_seqs // (lay.dp * lay.micro_batch))
    held = params_per_gpu(job.model, lay.tp, lay.pp, lay.ep) * stage_fraction(job.model, lay.pp) * lay.pp
    shard = lay.dp * lay.cp
    if job.mode == "lora":
        weights = held * c["lora_frozen_weight_bytes"]
        adapters = lora_params(job.model, job.lora_rank) * stage_fraction(job.model, lay.pp) / lay.tp
        states = adapters * (c["state_bytes_per_param_replicated"] + c["state_bytes_per_param_sharded"] / shard)
    else:
        weights = held * c["weight_bytes_per_param"]
        states = held * (c["state_bytes_per_param_replicated"] - c["weight_bytes_per_param"]
                         + c["state_bytes_per_param_sharded"] / shard)
    return MemoryUse(weights_gb=weights / 1e9, grads_and_optimizer_gb=states / 1e9,
                     activations_gb=_activation_bytes(job, lay, m, c) / 1e9)
