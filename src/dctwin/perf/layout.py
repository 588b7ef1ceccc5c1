"""A parallel layout of a training job and the job it runs.

``Layout``: tensor (tp), pipeline (pp), data (dp), context (cp) and expert
(ep) parallel sizes, micro-batch, pipeline schedule and activation
recomputation. ``TrainingJob``: what is trained (model, mode, precision,
batch). Both are plain frozen values; the step model is in
:mod:`dctwin.perf.training`, the search in :mod:`dctwin.perf.search`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dctwin.perf.models import LLM

__all__ = ["ATTENTION_PRECISIONS", "FP8_RECIPE_PRECISIONS", "GRAD_PRECISIONS", "MODES", "RECOMPUTE", "Layout",
           "TrainingJob", "lora_params", "micro_batch_tokens", "micro_batches", "stage_fraction", "stage_layers",
           "trainable_params", "virtual_stages"]

MODES = ("pretrain", "full-finetune", "lora")
RECOMPUTE = ("none", "full")
ATTENTION_PRECISIONS = ("bf16", "fp8")
GRAD_PRECISIONS = ("fp32", "bf16")
FP8_RECIPE_PRECISIONS = ("fp8", "fp4")  # linear-layer precisions that run Transformer Engine's FP8 recipe


@dataclass(frozen=True)
class TrainingJob:
    """What one training or fine-tuning run computes per step."""

    model: LLM
    mode: str                   # 'pretrain' | 'full-finetune' | 'lora'
    precision: str              # 'fp4' | 'fp8' | 'bf16' (linear layers)
    global_batch_tokens: float  # tokens per optimizer step [token]
    seq_tokens: int             # tokens per sequence [token]
    lora_rank: int = 16         # adapter rank (mode 'lora') [-]
    attention_precision: str = "bf16"  # 'bf16' | 'fp8' (FP8 dot-product attention, needs FP8/FP4 linear layers)
    fp8_params: bool = False    # weights held in FP8 (NeMo/Megatron fp8_params, TE fp8_model_init); FP32 master sharded
    grad_precision: str = "fp32"  # 'fp32' | 'bf16': gradient buffer on every data-parallel rank (grad_reduce_in_fp32)
    fp8_activation_store: bool = False  # MLP activation-function input kept in FP8 (activation_func_fp8_input_store)
    packed_sample_tokens: float | None = None  # packed samples' length-weighted mean sum(l^2)/sum(l); None: unpacked
    distributed_optimizer: bool = True  # states sharded over dp x cp (Megatron); False: held whole, grads all-reduced

    @property
    def attention_span_tokens(self) -> float:
        """Keys each token attends over in the Megatron count: the sequence, or with packed samples (attention per
        sample, THD layout) the packed samples' length-weighted mean length sum(l_i^2) / sum(l_i) [token]."""
        return self.seq_tokens if self.packed_sample_tokens is None else self.packed_sample_tokens

    @property
    def fp8_recipe(self) -> bool:
        """The linear layers run Transformer Engine's FP8 recipe (FP8 or FP4 training): casts, amax, scales."""
        return self.precision in FP8_RECIPE_PRECISIONS

    @property
    def batch_seqs(self) -> int:
        """Sequences per optimizer step [-]."""
        return int(round(self.global_batch_tokens / self.seq_tokens))


@dataclass(frozen=True)
class Layout:
    """How a job is spread over ``gpus`` = tp * pp * dp * cp GPUs (ep shards experts inside dp)."""

    tp: int
    pp: int
    dp: int
    cp: int = 1
    ep: int = 1
    micro_batch: int = 1        # sequences per micro-batch [-]
    schedule: str = "1f1b"
    virtual_stages: int = 1     # model chunks per pipeline stage (interleaved) [-]
    recompute: str = "none"     # 'none' | 'full' (keep only each layer's input)
    cuda_graphs: bool = False   # each layer's pass replayed as one CUDA graph (host issues 1 launch, not every op)
    recompute_layers: int = 0   # with 'full': layers of a stage recomputed (Megatron recompute_num_layers); 0: all

    def recompute_share(self, layers_stage: float) -> float:
        """Share of a stage's layers whose forward is recomputed in the backward pass [-]."""
        if self.recompute != "full":
            return 0.0
        return 1.0 if self.recompute_layers <= 0 else min(1.0, self.recompute_layers / layers_stage)

    @property
    def gpus(self) -> int:
        """GPUs the layout uses [-]."""
        return self.tp * self.pp * self.dp * self.cp

    def label(self) -> str:
        """e.g. 'TP4 PP8 DP2 CP1 EP1, micro-batch 1, interleaved x5, recompute none' (', CUDA graphs' if on);
        a partial recompute reads 'recompute 5 layers per stage'."""
        sched = f"{self.schedule} x{self.virtual_stages}" if self.schedule == "interleaved" else self.schedule
        rec = (f"{self.recompute_layers} layer{'s' if self.recompute_layers > 1 else ''} per stage"
               if self.recompute_layers > 0 else self.recompute)
        return (f"TP{self.tp} PP{self.pp} DP{self.dp} CP{self.cp} EP{self.ep}, micro-batch {self.micro_batch}, "
                f"{sched}, recompute {rec}" + (", CUDA graphs" if self.cuda_graphs else ""))


def lora_params(model: LLM, rank: int) -> float:
    """Adapter parameters of LoRA on the attention projections (q, k, v, o) of every layer [-].

    Each adapted d_in x d_out matrix gets rank x (d_in + d_out) parameters
    (Hu et al., arXiv:2106.09685); q and o are h x h, k and v are h x (kv/2)
    with kv the cached values per layer (K and V).
    """
    h, kv_half = model.hidden_size, model.kv_dim_per_layer / 2
    per_layer = rank * ((h + h) + 2 * (h + kv_half) + (h + h))
    return model.layers * per_layer


def trainable_params(job: TrainingJob) -> float:
    """Parameters that get gradients and optimizer states [-]."""
    return lora_params(job.model, job.lora_rank) if job.mode == "lora" else job.model.params_total


def micro_batches(batch_seqs: int, dp: int, micro_batch: int) -> int:
    """Micro-batches one data-parallel rank runs per optimizer step: ``batch_seqs`` sequences over ``dp`` ranks
    of ``micro_batch`` sequences each, at least one [-]."""
    return max(1, batch_seqs // (dp * micro_batch))


def micro_batch_tokens(job: TrainingJob, lay: Layout) -> float:
    """Tokens of one micro-batch that one context-parallel rank holds [token]."""
    return lay.micro_batch * job.seq_tokens / lay.cp


def stage_layers(model: LLM, pp: int) -> float:
    """Layers on the fullest of ``pp`` pipeline stages, ceil(layers / pp) [-] (as a float: what the stage's
    per-layer terms multiply)."""
    return model.layers * stage_fraction(model, pp)


def stage_fraction(model: LLM, pp: int) -> float:
    """Share of the model on the fullest pipeline stage: ceil(layers / pp) / layers [-].

    Layers split unevenly when pp does not divide them, and the pipeline
    runs at the pace of its slowest stage.
    """
    return math.ceil(model.layers / pp) / model.layers


def virtual_stages(model: LLM, pp: int, v_max: int) -> int:
    """Deepest interleaving, at most ``v_max`` model chunks per pipeline stage, that Megatron-LM's split of
    ``model.layers`` over ``pp`` stages admits, with the fullest stage at ceil(layers / pp) layers as
    :func:`stage_layers` counts it [-].

    Megatron-LM (megatron/training/arguments.py and core/transformer/transformer_config.py, commit d98e8a6)
    gives every chunk of a rank the same number of layers, so the chunk count v must divide each rank's count:
    an even split (layers / pp); with account_for_embedding/loss_in_pipeline_split the embedding and the loss
    each take a layer's slot, (layers + 1 or 2) / pp per rank (Llama 3 405B: 126 + 2 over 16 = 8, as Meta ran it
    with one layer fewer on the first and last stage); otherwise num_layers_in_first/last_pipeline_stage hold the
    remainder r = layers - (pp - 2) * ceil(layers / pp), which v must also divide, one chunk each at least.
    """
    full = math.ceil(model.layers / pp)
    even = any((model.layers + extra) % pp == 0 for extra in (0, 1, 2))
    rest = model.layers - (pp - 2) * full

    def admits(v: int) -> bool:
        return full % v == 0 and (even or (rest % v == 0 and rest >= 2 * v))
    return max(v for v in range(1, int(v_max) + 1) if v == 1 or admits(v))
