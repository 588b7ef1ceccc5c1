"""Host (CPU) time to issue a training step's GPU work, and when it, not the GPU, sets the pace.

In eager execution the host dispatches every operation of a layer one by
one (Python, the framework's dispatcher, the driver's launch); the GPU runs
them asynchronously, so the host runs ahead as long as a layer's GPU work
takes longer than issuing it. When it does not, the GPU waits: a micro-batch
pass over a stage takes max(GPU time, host time). CUDA graphs (Transformer
Engine ``make_graphed_callables``, Megatron's per-layer CUDA graphs) replay
a captured layer with one launch per pass.

Operations per layer are counted from the structure of the stack
(perf/data/calibration.yaml ``host_ops_*``: a Transformer Engine / Megatron
Llama layer, with the operations tensor and sequence parallelism, FP8
casts, LoRA adapters and each context-parallel ring step add); the host cost
of one operation is a published range (``host_s_per_op``). Mixture-of-experts
routing and permutation are not counted (a lower bound there).
"""

from __future__ import annotations

from dctwin.perf.layout import Layout, TrainingJob

__all__ = ["host_micro_batch_s", "host_ops_per_layer"]


def host_ops_per_layer(job: TrainingJob, lay: Layout, c: dict, recompute_share: float | None = None
                       ) -> tuple[float, float]:
    """Host-dispatched operations of one layer and micro-batch: (forward, backward) [-]; ``recompute_share``: share of
    the layers recomputed (None: every layer with recompute 'full', none otherwise)."""
    share = float(lay.recompute == "full") if recompute_share is None else recompute_share
    if lay.cuda_graphs:  # one graph replay per pass (recomputation replays the forward graph once more)
        return 1.0, 1.0 + share
    fwd = c["host_ops_layer_fwd"]
    fwd += c["host_ops_tp_fwd"] if lay.tp > 1 else 0.0
    fwd += c["host_ops_fp8_fwd"] if job.fp8_recipe else 0.0
    fwd += c["host_ops_lora_fwd"] if job.mode == "lora" else 0.0
    if lay.cp > 1:  # ring attention: one step per context-parallel rank instead of one attention call
        fwd += lay.cp * c["host_ops_cp_step_fwd"] - 1.0
    bwd = c["host_ops_bwd_per_fwd"] * fwd + fwd * share
    return fwd, bwd


def host_micro_batch_s(job: TrainingJob, lay: Layout, layers: float, c: dict) -> float:
    """Host time to issue one micro-batch's forward and backward passes over ``layers`` layers [s]."""
    fwd, bwd = host_ops_per_layer(job, lay, c, lay.recompute_share(layers))
    return layers * (fwd + bwd) * c["host_s_per_op"]
