"""Training step time from the parts that bound it: compute, HBM traffic, collectives and the pipeline.

For one pipeline stage and one micro-batch of ``T`` tokens (per context-
parallel rank), every pass over the stage's layers costs, per GPU,

    t_pass = max(FLOPs / (peak x eff), weight bytes / HBM) + attention + elementwise bytes / HBM

* FLOPs: 2 N_active per token forward (linear layers at the job's
  precision); backward 2 N for input gradients plus 2 N for weight
  gradients (LoRA: no weight gradients for the frozen base, so 4 N per
  token in all); attention 4 L heads d_head s per token forward (the
  Megatron count), twice that backward, at BF16 (or FP8 dot-product
  attention, ``attention_fp8_speedup`` times faster); full recomputation runs
  the forward once more;
* HBM: each pass reads the stage's weights, and the norms, activation
  functions, residual adds and casts between GEMMs stream activations
  through HBM (``elementwise_bytes_per_token_hidden``; a MoE layer's expert
  block streams its own count, :func:`dctwin.perf.models.elementwise_bytes`,
  the one inference charges too): these do not shrink
  with FLOP/s, so a GPU with more bandwidth (H200 vs H100) steps faster;
* tensor-parallel collectives (4 per layer and micro-batch, 6 with
  recomputation), partly overlapped with the GEMMs; context-parallel K/V
  exchange hidden behind attention; expert all-to-all for MoE;
* the pipeline: ``m`` micro-batches per step plus the schedule's bubble
  (:mod:`dctwin.perf.schedule`); pipeline sends between stages;
* data parallel: gradient reduce-scatter hidden behind the last
  micro-batch's backward and parameter all-gather behind the first forward
  (distributed optimizer); whatever does not fit in that window is exposed.
  Without it (``distributed_optimizer`` false: NeMo's fused_adam under
  megatron_amp_O2) the FP32 gradient buffer is all-reduced: behind the
  backward only with neither sequence (tp > 1) nor pipeline parallelism,
  else after it, exposed (NeMo MegatronBaseModel.configure_optimizers turns
  async_grad_allreduce off there; training_step calls allreduce_main_grads);
* the optimizer update reads and writes its sharded states (memory-bound);
* once per step, a few all-reduces of a few bytes over every GPU (gradient
  norm, found-inf flag, loss, FP8 amax): pure collective latency;
* the host: a micro-batch takes at least the host time to issue its
  operations (:mod:`dctwin.perf.host`; one launch per layer and pass with
  CUDA graphs).

At a fixed global batch, more data-parallel ranks mean fewer micro-batches
per step; the bubble and the gradient traffic stay per micro-batch, so the
step shrinks with GPUs but below linearly. Memory (``dctwin.perf.memory``)
decides which layouts can run; :mod:`dctwin.perf.search` picks the fastest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dctwin.catalog.platform import Platform
from dctwin.perf.collectives import all_gather_s, all_reduce_s, all_to_all_s, group_link, reduce_scatter_s, send_s
from dctwin.perf.hardware import hbm_bytes_per_s, peak_flops
from dctwin.perf.host import host_micro_batch_s
from dctwin.perf.layout import (
    Layout,
    TrainingJob,
    micro_batch_tokens,
    micro_batches,
    stage_fraction,
    stage_layers,
    trainable_params,
)
from dctwin.perf.memory import (
    MemoryUse,
    grad_bytes_per_param,
    params_per_gpu,
    training_memory,
    weight_bytes_per_param,
)
from dctwin.perf.models import LLM, elementwise_bytes
from dctwin.perf.schedule import bubble_s

__all__ = ["TrainingPerf", "evaluate_layout", "model_flops_per_token"]


@dataclass(frozen=True)
class TrainingPerf:
    """Step time and throughput of one job in one layout (times [s], throughput [token/s])."""

    step_time_s: float
    tokens_per_s: float
    mfu: float                 # model FLOP/s / dense peak at the precision [-]
    tflops_per_gpu: float      # model TFLOP/s per GPU [TFLOP/s]
    tp: int
    pp: int
    dp: int
    global_batch_tokens: float
    bubble_fraction: float     # pipeline idle time / busy time [-]
    comm_exposed_s: float      # communication not hidden behind compute, per step [s]
    memory_per_gpu_gb: float   # weights, gradients, optimizer and activations [GB]
    layout: Layout | None = None
    memory: MemoryUse | None = None
    mode: str = "pretrain"
    gpus_used: int = 0         # GPUs the layout uses (<= the GPUs given) [-]
    hbm_bound_s: float = 0.0   # per step, time of memory-bound kernels (elementwise, optimizer, weight reads) [s]
    host_s: float = 0.0        # per step, host time to issue the micro-batches' operations; > GPU time: host-bound [s]

    @property
    def samples_per_s(self) -> float:
        """Sequences per second [1/s]."""
        return self.tokens_per_s * self.layout_seq_inv if self.layout_seq_inv else float("nan")

    layout_seq_inv: float = 0.0  # 1 / sequence length [1/token]
    bubble_s: float = 0.0      # per step, pipeline idle time (the schedule's bubble) [s]
    optimizer_s: float = 0.0   # per step, the optimizer update reading and writing its states [s]
    host_wait_s: float = 0.0   # per step, time the GPUs wait for the host to issue the micro-batches [s]
    estimated_inputs: tuple[str, ...] = field(default=(), compare=False)  # dctwin estimates read (perf.provenance)

    def step_parts_s(self) -> dict[str, float]:
        """The step time split into parts that add up to it [s]: 'compute' (the stages' passes, incl. their
        memory-bound kernels), 'exposed communication', 'pipeline bubble', 'optimizer' and 'host wait'."""
        rest = {"exposed communication": self.comm_exposed_s, "pipeline bubble": self.bubble_s,
                "optimizer": self.optimizer_s, "host wait": self.host_wait_s}
        return {"compute": self.step_time_s - sum(rest.values()), **rest}


def model_flops_per_token(model: LLM, seq_tokens: float, mode: str = "pretrain") -> tuple[float, float]:
    """Model FLOPs per token of one training step: (linear layers, attention) [FLOP].

    Pre-training and full fine-tuning: 6 N_active (2 forward + 4 backward)
    and 6 L heads (d_qk + d_v) s (the Megatron count 12 L heads d_head s when
    d_qk = d_v; multi-head latent attention: 192 + 128). LoRA: 4 N_active (no
    weight gradients of the frozen base; the adapters' FLOPs are below
    0.1% and left out), attention unchanged.
    """
    weights = (4.0 if mode == "lora" else 6.0) * model.params_active
    return weights, 3.0 * model.attention_flops_per_token(seq_tokens)


def _pass_s(flops: float, weight_b: float, peak: float, bw: float) -> float:
    """One GEMM pass: compute- or memory-bound, whichever is slower [s]."""
    return max(flops / peak, weight_b / bw)


def _stage_times(platform: Platform, job: TrainingJob, lay: Layout, c: dict) -> dict[str, float]:
    """Per micro-batch on one stage: forward, input-grad, weight-grad and HBM-bound times [s]."""
    model = job.model
    tokens = micro_batch_tokens(job, lay)
    gpu_share = stage_fraction(model, lay.pp) / lay.tp             # share of the model's work on one GPU
    prec = job.precision
    eff = c[f"kernel_efficiency_{'fp8' if prec == 'fp4' else prec}"] * (c["kernel_efficiency_fp4_vs_fp8"]
                                                                        if prec == "fp4" else 1.0)
    peak = peak_flops(platform, prec) * eff
    peak_attn = peak_flops(platform, "bf16") * c["attention_efficiency"] * (
        c["attention_fp8_speedup"] if job.attention_precision == "fp8" else 1.0)
    bw = hbm_bytes_per_s(platform, c)
    w_b = params_per_gpu(model, lay.tp, 1, lay.ep) * stage_fraction(model, lay.pp) * weight_bytes_per_param(job, c)
    lin = 2.0 * model.params_active * tokens * gpu_share          # forward linear FLOPs of the stage per GPU
    attn = model.attention_flops_per_token(job.attention_span_tokens) * tokens * gpu_share
    elem_b = elementwise_bytes(model, c["elementwise_bytes_per_token_hidden"],
                               c["elementwise_mlp_bytes_per_token_hidden"])   # per token and layer [B]
    elem = elem_b * tokens * model.layers * gpu_share / bw
    t_f = _pass_s(lin, w_b, peak, bw) + attn / peak_attn + elem
    t_b = _pass_s(lin, w_b, peak, bw) + 2 * attn / peak_attn + 2 * elem
    t_w = 0.0 if job.mode == "lora" else _pass_s(lin, w_b, peak, bw)
    share = lay.recompute_share(stage_layers(model, lay.pp))  # recomputed share of the layers
    t_b += share * t_f
    hbm = (3 + share) * elem + (w_b / bw if lin / peak < w_b / bw else 0.0)
    return {"f": t_f, "b": t_b, "w": t_w, "attn": attn / peak_attn, "hbm": hbm, "tokens": tokens, "recompute": share}


def _micro_batch_comm_s(platform: Platform, job: TrainingJob, lay: Layout, st: dict, c: dict) -> float:
    """Exposed tensor-, context-, expert- and pipeline-parallel communication per micro-batch and stage [s]."""
    model = job.model
    layers = stage_layers(model, lay.pp)
    act_b = st["tokens"] * model.hidden_size * 2.0                # 16-bit activations of the micro-batch
    out = 0.0
    if lay.tp > 1:
        link = group_link(platform, lay.tp, c)
        n = 4 + 2 * st["recompute"]
        out += n * layers * all_reduce_s(act_b, lay.tp, link) * (1 - c["tp_comm_overlap"])
    if lay.cp > 1:  # ring attention: K and V of the local tokens travel to every other rank, behind attention
        link = group_link(platform, lay.tp * lay.cp, c)
        kv_b = st["tokens"] * model.kv_dim_per_layer * 2.0 / lay.tp
        t_kv = 3 * layers * all_gather_s(kv_b * lay.cp, lay.cp, link)
        out += max(0.0, t_kv - 3 * st["attn"])
    if lay.ep > 1:  # dispatch + combine, forward and backward, top-k copies of each token
        link = group_link(platform, lay.tp * lay.ep, c)
        a2a_b = act_b * model.experts_per_token / lay.tp
        out += 4 * layers * all_to_all_s(a2a_b, lay.ep, link) * (1 - c["tp_comm_overlap"])
    if lay.pp > 1:  # send activations forward and gradients back, once per model chunk
        link = group_link(platform, lay.tp * lay.cp * lay.dp * lay.pp, c)
        out += 2 * lay.virtual_stages * send_s(act_b / lay.tp, link)
    return out


def _dp_and_optimizer_s(platform: Platform, job: TrainingJob, lay: Layout, st: dict, c: dict) -> tuple[float, float]:
    """(exposed gradient/parameter collectives, optimizer update) per step [s]."""
    trainable = trainable_params(job)
    frac = stage_fraction(job.model, lay.pp) / lay.tp
    per_gpu = params_per_gpu(job.model, 1, 1, lay.ep) * frac if job.mode != "lora" else trainable * frac
    shard = lay.dp * lay.cp
    exposed = 0.0
    if shard > 1:
        link = group_link(platform, lay.tp * shard, c)
        grad_b = per_gpu * grad_bytes_per_param(job, c)  # the buffer's own width
        if job.distributed_optimizer:
            gather_b = weight_bytes_per_param(job, c)  # the weights as held: 16-bit, or 8-bit with fp8_params
            exposed = (max(0.0, reduce_scatter_s(grad_b, shard, link) - st["b"] - st["w"])
                       + max(0.0, all_gather_s(per_gpu * gather_b, shard, link) - st["f"]))
        else:  # one all-reduce, overlapped with the backward only without sequence and pipeline parallelism
            window = st["b"] + st["w"] if lay.tp == 1 and lay.pp == 1 else 0.0
            exposed = max(0.0, all_reduce_s(grad_b, shard, link) - window)
    bw = hbm_bytes_per_s(platform, c)
    t_opt = per_gpu / (shard if job.distributed_optimizer else 1) * c["optimizer_bytes_per_param"] / bw
    return exposed + _step_sync_s(platform, job, lay, c), t_opt


def _step_sync_s(platform: Platform, job: TrainingJob, lay: Layout, c: dict) -> float:
    """Latency-bound all-reduces of a few bytes over every GPU once per step (norm, flags, loss, amax) [s]."""
    n_sync = c["step_sync_allreduces"] + (c["fp8_amax_allreduces"] if job.fp8_recipe else 0.0)
    return n_sync * all_reduce_s(8.0, lay.gpus, group_link(platform, lay.gpus, c))


def evaluate_layout(platform: Platform, job: TrainingJob, lay: Layout, c: dict) -> TrainingPerf:
    """Step time, throughput and memory of ``job`` in layout ``lay`` (no feasibility check)."""
    m = micro_batches(job.batch_seqs, lay.dp, lay.micro_batch)
    st = _stage_times(platform, job, lay, c)
    comm_mb = _micro_batch_comm_s(platform, job, lay, st, c)
    host_mb = host_micro_batch_s(job, lay, stage_layers(job.model, lay.pp), c)
    gpu_mb = st["f"] + st["b"] + st["w"] + comm_mb
    t_mb = max(gpu_mb, host_mb)   # the GPU waits when issuing takes longer
    bubble = bubble_s(lay.schedule, lay.pp, lay.virtual_stages, st["f"], st["b"], st["w"])
    dp_exposed, t_opt = _dp_and_optimizer_s(platform, job, lay, st, c)
    step = m * t_mb + bubble + dp_exposed + t_opt
    batch_tokens = float(job.batch_seqs * job.seq_tokens)
    tokens_per_s = batch_tokens / step
    w_flops, a_flops = model_flops_per_token(job.model, job.attention_span_tokens, job.mode)
    tflops = tokens_per_s * (w_flops + a_flops) / lay.gpus / 1e12
    mem = training_memory(job, lay, c)
    return TrainingPerf(
        step_time_s=step, tokens_per_s=tokens_per_s, mfu=tflops * 1e12 / peak_flops(platform, job.precision),
        tflops_per_gpu=tflops, tp=lay.tp, pp=lay.pp, dp=lay.dp, global_batch_tokens=batch_tokens,
        bubble_fraction=bubble / (m * t_mb), comm_exposed_s=m * comm_mb + dp_exposed, memory_per_gpu_gb=mem.total_gb,
        layout=lay, memory=mem, mode=job.mode, gpus_used=lay.gpus, hbm_bound_s=m * st["hbm"] + t_opt,
        host_s=m * host_mb,
        layout_seq_inv=1.0 / job.seq_tokens, bubble_s=bubble, optimizer_s=t_opt, host_wait_s=m * (t_mb - gpu_mb),
    )
