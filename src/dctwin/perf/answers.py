"""The performance model's answers as labelled rows, for ``dctwin perf`` tables and JSON.

Each figure is a :class:`Row`: a JSON key with its unit in the name, a label with its unit in brackets and the
value the perf API returned (:func:`dctwin.perf.training_perf`, :func:`dctwin.perf.inference_perf`,
:func:`dctwin.perf.disaggregated_perf`), converted to the unit shown: no formula of the model is evaluated here,
only sums, differences and ratios of the API's own figures (the step's parts, a StepCost's GEMM and weight-read
times). One :class:`Answer` per platform; several side by side are one comparison table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dctwin.catalog.platform import Platform
from dctwin.perf.disagg import DisaggregatedPerf
from dctwin.perf.hardware import hbm_bytes_per_gpu
from dctwin.perf.inference import InferencePerf
from dctwin.perf.params import PerfParams
from dctwin.perf.roofline import StepCost
from dctwin.perf.training import TrainingPerf

__all__ = ["Answer", "Row", "batch_limit", "disagg_rows", "serve_rows", "train_rows"]

# TrainingPerf.step_parts_s() names -> JSON key stem; 'what binds' names the largest part
_PART_KEYS = {"compute": "compute", "exposed communication": "exposed_communication",
              "pipeline bubble": "pipeline_bubble", "optimizer": "optimizer", "host wait": "host_wait"}


@dataclass(frozen=True)
class Row:
    """One figure: ``key`` (JSON, unit in the name), ``label`` (table, unit in brackets), ``value``, ``fmt`` (a
    format spec for numbers)."""

    key: str
    label: str
    value: float | int | str | None
    fmt: str = ""

    def text(self) -> str:
        """The value as the table shows it."""
        if self.value is None or (isinstance(self.value, float) and not math.isfinite(self.value)):
            return "-"
        return format(self.value, self.fmt) if self.fmt and not isinstance(self.value, str) else str(self.value)


@dataclass(frozen=True)
class Answer:
    """The rows of one platform, or the reason it was refused (``error``)."""

    platform: str
    rows: tuple[Row, ...] = ()
    error: str | None = None
    estimated_inputs: tuple[str, ...] = ()   # inputs that are dctwin's estimates (perf.provenance), one line each

    def as_dict(self) -> dict:
        """``{"platform": id, key: value, ...}``, or ``{"platform": id, "error": message}``; NaN becomes null."""
        if self.error is not None:
            return {"platform": self.platform, "error": self.error}
        out: dict = {"platform": self.platform}
        for r in self.rows:
            finite = not (isinstance(r.value, float) and not math.isfinite(r.value))
            out[r.key] = r.value if finite else None
        out["estimated_inputs"] = list(self.estimated_inputs)
        return out


def _layout_rows(perf: TrainingPerf) -> list[Row]:
    lay = perf.layout
    sched = f"{lay.schedule} x{lay.virtual_stages}" if lay.schedule == "interleaved" else lay.schedule
    rec = (f"{lay.recompute_layers} layers per stage" if lay.recompute_layers > 0 else lay.recompute)
    return [Row("gpus_used", "GPUs used [-]", perf.gpus_used, "d"),
            Row("layout", "layout TPxPPxDPxCPxEP [-]", f"{lay.tp}x{lay.pp}x{lay.dp}x{lay.cp}x{lay.ep}"),
            Row("micro_batch_sequences", "micro-batch [sequences]", lay.micro_batch, "d"),
            Row("schedule", "pipeline schedule", sched),
            Row("recompute", "activation recompute", rec),
            Row("cuda_graphs", "CUDA graphs", "on" if lay.cuda_graphs else "off"),
            Row("global_batch_tokens", "global batch [tokens]", perf.global_batch_tokens, ",.0f")]


def _step_rows(perf: TrainingPerf) -> list[Row]:
    parts = perf.step_parts_s()
    memory_bound = perf.hbm_bound_s - perf.optimizer_s  # the passes' HBM-bound kernels (hbm_bound_s holds both)
    rows = [Row("step_time_s", "step time [s]", perf.step_time_s, ",.3f")]
    for name, t in parts.items():
        rows.append(Row(f"{_PART_KEYS[name]}_s", f"  {name} [s]", t, ",.3f"))
        if name == "compute":
            rows.append(Row("compute_hbm_bound_s", "    of which HBM-bound [s]", memory_bound, ",.3f"))
    binds = max(parts, key=parts.get)
    if binds == "compute" and memory_bound > 0.5 * parts["compute"]:
        binds = "HBM bandwidth"
    rows.append(Row("binds", "what binds (largest part)", binds))
    return rows


def train_rows(platform: Platform, perf: TrainingPerf, params: PerfParams) -> tuple[Row, ...]:
    """Layout, step time and its parts, throughput, MFU and memory of one :func:`training_perf` answer."""
    from dctwin.perf.search import memory_budget_gb

    mem, gpus = perf.memory, max(perf.gpus_used, 1)
    return tuple(_layout_rows(perf) + _step_rows(perf) + [
        Row("tokens_per_s", "throughput [tokens/s]", perf.tokens_per_s, ",.0f"),
        Row("tokens_per_s_per_gpu", "  per GPU used [tokens/s]", perf.tokens_per_s / gpus, ",.0f"),
        Row("model_tflops_per_gpu", "model FLOP/s per GPU [TFLOP/s]", perf.tflops_per_gpu, ",.0f"),
        Row("mfu_percent", "MFU [%]", 100.0 * perf.mfu, ".1f"),
        Row("memory_per_gpu_gb", "memory per GPU [GB]", perf.memory_per_gpu_gb, ",.1f"),
        Row("weights_per_gpu_gb", "  weights [GB]", mem.weights_gb, ",.1f"),
        Row("grads_and_optimizer_per_gpu_gb", "  gradients + optimizer [GB]", mem.grads_and_optimizer_gb, ",.1f"),
        Row("activations_per_gpu_gb", "  activations [GB]", mem.activations_gb, ",.1f"),
        Row("memory_usable_per_gpu_gb", "usable for training [GB]", memory_budget_gb(platform, params.training),
            ",.1f"),
        Row("hbm_per_gpu_gb", "HBM per GPU [GB]", hbm_bytes_per_gpu(platform) / 1e9, ",.1f"),
    ])


def batch_limit(perf: InferencePerf, offline: InferencePerf | None, engine_max_batch: int,
                targets: dict[str, float | None]) -> str:
    """What stops the batch from growing: the KV cache, the engine's maximum, a latency target (the batch is
    below the offline one of the same replica; the target reached closest), else the throughput plateau (a
    larger batch adds less than 0.1 % tokens/s, :func:`dctwin.perf.inference_perf`).
    ``targets``: {'TTFT': target [s] or None, 'TPOT': ...}."""
    if perf.batch_size >= perf.max_batch_memory:
        return "KV cache"
    if perf.batch_size >= engine_max_batch:
        return "engine max batch"
    reached = {"TTFT": perf.ttft_s, "TPOT": perf.tpot_s}
    given = {k: reached[k] / t for k, t in targets.items() if t}
    if given and offline is not None and offline.batch_size > perf.batch_size:
        return f"{max(given, key=given.get)} target"
    return "tokens/s plateau"


def _gemm_intensity(cost: StepCost, batch: int) -> float:
    """A decode pass's weight GEMMs at ``batch`` sequences: their FLOP time over their weight-read time [-] (> 1:
    compute-bound, else HBM-bound; MoE: all experts together, the routed ones read as reached). The pipeline
    splits the batch into micro-batches (:meth:`StepCost.micro_batches`)."""
    tokens = batch / float(cost.micro_batches(batch))
    return float(tokens * cost.gemm_s_per_seq / cost.weights_read_s(tokens))


def serve_rows(perf: InferencePerf, cost: StepCost, limit: str, targets: dict[str, float | None]) -> tuple[Row, ...]:
    """Replicas, batch, throughput, latency and what binds of one :func:`inference_perf` answer; ``cost``: the
    replica's step roofline, ``limit``: :func:`batch_limit`."""
    gpus = perf.replicas * perf.gpus_per_replica * perf.pp
    ratio = _gemm_intensity(cost, perf.batch_size)
    rows = [Row("replica_layout", "replica TPxPP [-]", f"{perf.gpus_per_replica}x{perf.pp}"),
            Row("replicas", "replicas [-]", perf.replicas, "d"),
            Row("gpus_used", "GPUs used [-]", gpus, "d"),
            Row("batch_per_replica_sequences", "batch per replica [sequences]", perf.batch_size, "d"),
            Row("output_tokens_per_s", "throughput [output tokens/s]", perf.tokens_per_s, ",.0f"),
            Row("output_tokens_per_s_per_gpu", "  per GPU [output tokens/s]", perf.tokens_per_s / max(gpus, 1), ",.0f"),
            Row("requests_per_s", "requests [1/s]", perf.requests_per_s, ",.2f"),
            Row("ttft_ms", "TTFT reached [ms]", 1e3 * perf.ttft_s, ",.1f")]
    if targets.get("TTFT"):
        rows.append(Row("ttft_target_ms", "  TTFT target [ms]", 1e3 * targets["TTFT"], ",.1f"))
    rows.append(Row("tpot_ms", "TPOT reached [ms]", 1e3 * perf.tpot_s, ",.2f"))
    if targets.get("TPOT"):
        rows.append(Row("tpot_target_ms", "  TPOT target [ms]", 1e3 * targets["TPOT"], ",.2f"))
    return tuple(rows + [
        Row("kv_cache_per_replica_gb", "KV cache in use per replica [GB]", perf.kv_cache_gb, ",.1f"),
        Row("kv_limited_batch_sequences", "KV-limited batch [sequences]", perf.max_batch_memory, ",d"),
        Row("batch_limited_by", "what limits the batch", limit),
        Row("decode_gemm_flop_over_read_ratio", "decode GEMMs FLOP/read time [-]", ratio, ".2f"),
        Row("decode_gemms", "decode GEMMs", "compute-bound" if ratio > 1.0 else "HBM-bound"),
    ])


def disagg_rows(perf: DisaggregatedPerf, prefill_gpus: int, decode_gpus: int) -> tuple[Row, ...]:
    """Throughput, latency, pool rates and what binds of one :func:`disaggregated_perf` answer."""
    return (
        Row("prefill_gpus", "prefill GPUs [-]", prefill_gpus, "d"),
        Row("prefill_gpus_per_replica", "  per prefill replica [-]", perf.prefill_gpus_per_replica, "d"),
        Row("decode_gpus", "decode GPUs [-]", decode_gpus, "d"),
        Row("decode_gpus_per_replica", "  per decode replica [-]", perf.decode_gpus_per_replica, "d"),
        Row("decode_batch_sequences", "decode batch per replica [sequences]", perf.decode_batch, "d"),
        Row("output_tokens_per_s", "throughput [output tokens/s]", perf.tokens_per_s, ",.0f"),
        Row("output_tokens_per_s_per_gpu", "  per GPU [output tokens/s]",
            perf.tokens_per_s / (prefill_gpus + decode_gpus), ",.0f"),
        Row("requests_per_s", "requests [1/s]", perf.requests_per_s, ",.2f"),
        Row("ttft_ms", "TTFT (prefill + KV transfer) [ms]", 1e3 * perf.ttft_s, ",.1f"),
        Row("kv_transfer_ms", "  KV transfer [ms]", 1e3 * perf.kv_transfer_s, ",.2f"),
        Row("tpot_ms", "TPOT reached [ms]", 1e3 * perf.tpot_s, ",.2f"),
        Row("prefill_requests_per_s", "prefill pool rate [requests/s]", perf.prefill_requests_per_s, ",.2f"),
        Row("kv_requests_per_s", "KV link rate [requests/s]", perf.kv_requests_per_s, ",.2f"),
        Row("decode_output_tokens_per_s", "decode pool rate [output tokens/s]", perf.decode_tokens_per_s, ",.0f"),
        Row("binds", "what binds", perf.bound),
    )
