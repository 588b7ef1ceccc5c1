"""The ``workload:`` section: what runs on the site (training jobs and inference services).

Training jobs are generated from distributions fitted to public traces
(``dctwin/workload/data/job_fits.yaml``) or replayed from a job table file
(``jobs_path``); inference services get daily and weekly demand curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dctwin.config.base import Section

__all__ = [
    "DevJobsConfig", "DisaggregatedServingConfig", "InferenceServiceConfig", "ParallelLayoutConfig",
    "PretrainConfig", "ServingLayoutConfig", "TrainingConfig",
    "WorkloadConfig",
]

_NAME = r"^[a-z0-9][a-z0-9._-]*$"


class ParallelLayoutConfig(Section):
    """A fixed parallel layout of a pre-training run: tp x pp x dp x cp must equal its GPUs."""

    tp: int = Field(ge=1, le=64, description="Tensor-parallel size (inside one NVLink domain) [-].")
    pp: int = Field(ge=1, le=1024, description="Pipeline stages [-].")
    dp: int = Field(ge=1, le=10_000_000, description="Data-parallel replicas [-].")
    cp: int = Field(1, ge=1, le=64, description="Context-parallel size (splits each sequence) [-].")
    ep: int | None = Field(
        None, ge=1, le=4096, description="Expert-parallel size for MoE models (divides dp); null: automatic [-]."
    )

    @property
    def gpus(self) -> int:
        """GPUs the layout uses [-]."""
        return self.tp * self.pp * self.dp * self.cp


class PretrainConfig(Section):
    """Large pre-training runs: thousands of GPUs for days to weeks."""

    share_of_training: float = Field(
        0.5, ge=0, le=1, description="Share of the training GPU-hours taken by pre-training runs [-]."
    )
    model: str = Field(
        "mistral-large-2", pattern=_NAME,
        description="Model trained (id in dctwin/perf/data/models.yaml); its active parameters set the FLOPs.",
    )
    tokens_t: float = Field(
        40.0, ge=0.001, le=1000,
        description="Training tokens per run [trillion]. Assumption: Mistral does not publish its token counts "
        "(dossier gap 12); Llama 3 405B used 15.6 T in 2024 (dossier §6a).",
    )
    tokens_spread: float = Field(
        0.25, ge=0, le=2, description="Log-normal sigma of the token count between runs [-]."
    )
    gpus: int = Field(
        4096, ge=1, le=10_000_000,
        description="GPUs per run; rounded down to whole scale-up domains and capped by the training GPUs.",
    )
    precision: Literal["fp4", "fp8", "bf16"] = Field("fp8", description="Training precision.")
    mfu: float | None = Field(
        0.40, gt=0, le=1,
        description="Model FLOPs utilisation [-]: 35-45% for dense training, 40% central (dossier §6a, §7). "
        "null: take the throughput from the performance model (dctwin.perf.training_perf), whose layout, "
        "batch and schedule the fields below set.",
    )
    global_batch_tokens: float | None = Field(
        None, gt=0, le=1e10,
        description="Tokens per optimizer step [token]; null: the model's published batch (perf/data/models.yaml). "
        "Only with mfu: null.",
    )
    seq_tokens: int | None = Field(
        None, ge=128, le=10_000_000, description="Tokens per training sequence; null: the model's [token]. "
        "Only with mfu: null.",
    )
    micro_batch: int | None = Field(
        None, ge=1, le=1024,
        description="Sequences per micro-batch; null: the fastest that fits [-]. Only with mfu: null.",
    )
    layout: ParallelLayoutConfig | Literal["auto"] = Field(
        "auto", description="Parallel layout {tp, pp, dp, cp, ep}, or 'auto': the fastest layout that fits in memory "
        "(the report names it). A fixed layout runs on exactly its GPUs. Only with mfu: null.",
    )
    schedule: Literal["auto", "1f1b", "interleaved", "zero-bubble"] = Field(
        "auto", description="Pipeline schedule; 'auto': the fastest allowed. Only with mfu: null."
    )
    recompute: Literal["auto", "none", "full"] = Field(
        "auto", description="Activation recomputation; 'auto': none if the activations fit, else only as many "
        "layers per pipeline stage as needed to fit (Megatron recompute_num_layers; the layout label names the "
        "count); 'full': every layer. Only with mfu: null."
    )
    attention_precision: Literal["bf16", "fp8"] = Field(
        "bf16", description="Precision of dot-product attention: 'fp8' (FP8 attention, e.g. Transformer Engine "
        "fp8_dpa; needs precision fp8 or fp4) runs it attention_fp8_speedup times faster (perf/data/calibration.yaml, "
        "fitted: 1.093). Only with mfu: null."
    )
    cuda_graphs: bool = Field(
        False, description="Replay each layer as a CUDA graph (Megatron / Transformer Engine per-layer graphs): the "
        "host issues one launch per layer and pass instead of every operation, which matters when a layer's GPU work "
        "is shorter than issuing it. false: eager, the NeMo / Megatron default. Only with mfu: null."
    )
    fp8_params: bool = Field(
        False, description="Hold the weights in FP8 (NeMo/Megatron fp8_params, Transformer Engine fp8_model_init; "
        "the FP32 master copy stays in the sharded optimizer): 1 instead of 2 B per parameter; needs precision fp8 "
        "or fp4. false: the NeMo / Megatron default. Only with mfu: null."
    )
    grad_precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="Gradient buffer on every data-parallel rank: 'fp32' (Megatron's grad_reduce_in_fp32, "
        "its default in BF16 training) or 'bf16' (4 or 2 B per parameter). Only with mfu: null."
    )
    fp8_activation_store: bool = Field(
        False, description="Keep the MLP activation function's input in FP8 for the backward pass (Megatron "
        "activation_func_fp8_input_store, SwiGLU MLPs only: refused for a GeLU model): less activation memory, so fewer"
        " layers recomputed. Only with mfu: null."
    )
    distributed_optimizer: bool = Field(
        True, description="Shard the FP32 master weights and Adam moments over the data- and context-parallel ranks "
        "(Megatron distributed optimizer; gradients reduce-scattered behind the backward). false: every rank holds "
        "them and the gradient buffer is all-reduced, after the backward under tensor (sequence) or pipeline "
        "parallelism (NeMo fused_adam with megatron_amp_O2). Only with mfu: null."
    )
    packed_sample_tokens: float | None = Field(
        None, ge=1, le=10_000_000,
        description="Samples packed into each sequence with attention inside each sample only (NeMo/Megatron packed "
        "sequences, THD layout with cu_seqlens; document masking): the samples' length-weighted mean length "
        "sum(l^2)/sum(l) [token], at most seq_tokens. Attention work per token scales with it instead of the sequence "
        "length. null: attention over the whole sequence (conservative). Only with mfu: null.",
    )

    @model_validator(mode="after")
    def _check_perf_fields(self) -> PretrainConfig:
        set_ = [k for k in ("global_batch_tokens", "seq_tokens", "micro_batch") if getattr(self, k) is not None]
        set_ += [k for k in ("layout", "schedule", "recompute") if getattr(self, k) != "auto"]
        set_ += ["attention_precision"] if self.attention_precision != "bf16" else []
        set_ += ["cuda_graphs"] if self.cuda_graphs else []
        set_ += [k for k in ("fp8_params", "fp8_activation_store") if getattr(self, k)]
        set_ += ["grad_precision"] if self.grad_precision != "fp32" else []
        set_ += ["distributed_optimizer"] if not self.distributed_optimizer else []
        set_ += ["packed_sample_tokens"] if self.packed_sample_tokens is not None else []
        if self.mfu is not None and set_:
            raise ValueError(f"these fields only apply with mfu: null (the performance model sets the throughput): "
                             f"{', '.join(set_)}; with mfu: {self.mfu} the flat MFU does. Set mfu: null or remove "
                             "them")
        if isinstance(self.layout, ParallelLayoutConfig) and self.layout.gpus != self.gpus:
            raise ValueError(f"layout uses tp*pp*dp*cp = {self.layout.gpus} GPUs but gpus is {self.gpus}; "
                             "make them equal")
        return self


class DevJobsConfig(Section):
    """Fine-tuning, evaluation and batch jobs: 1 to a few hundred GPUs, minutes to hours."""

    profile: Literal["kalos", "seren"] = Field(
        "kalos",
        description="Acme LLM cluster whose fitted job mix is used (Hu et al., NSDI 2024): 'kalos' (larger jobs, "
        "26.8 GPUs per job on average) or 'seren' (5.7).",
    )
    max_gpus: int = Field(512, ge=1, le=1_000_000, description="Largest job [GPUs]; larger draws are capped.")
    finetune_min_gpus: int = Field(
        8, ge=1, description="Jobs with at least this many GPUs are fine-tuning; smaller ones evaluation or batch."
    )
    batch_share: float = Field(
        0.2, ge=0, le=1, description="Share of the small jobs that are deferrable batch work (assumption) [-]."
    )
    diurnal_amplitude: float | None = Field(
        None, ge=0, lt=1,
        description="Relative amplitude of daily submissions [-]; None uses the value fitted to the Alibaba trace.",
    )
    peak_hour: float = Field(14.0, ge=0, lt=24, description="Local hour of peak submissions (assumption) [h].")
    weekend_factor: float | None = Field(
        None, gt=0, le=2,
        description="Weekend submission rate relative to weekdays [-]; None uses the value fitted to the Alibaba "
                    "trace.",
    )
    profile_path: Path | None = Field(
        None, description="Workload profile written by `dctwin workload fit` (relative to the scenario file): its "
        "arrival cycle, GPU counts, run times, kinds and tenants replace 'profile', the daily/weekly fields, "
        "batch_share and 'tenants' (setting those too is refused); the rate is still sized to the training "
        "budget. Jobs larger than max_gpus run on max_gpus for proportionally longer.",
    )


class TrainingConfig(Section):
    share_of_gpus: float = Field(0.6, ge=0, le=1, description="Share of GPUs meant for training and batch work.")
    mean_utilisation: float = Field(
        0.85, ge=0, le=1,
        description="Target busy share of those GPUs [-]: arrival rates are sized so the offered load is "
        "share_of_gpus × mean_utilisation × all GPUs.",
    )
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    dev: DevJobsConfig = Field(default_factory=DevJobsConfig)
    tenants: list[str] = Field(
        default_factory=lambda: ["research", "product", "customers"], min_length=1,
        description="Tenants that submit fine-tuning, evaluation and batch jobs (drawn uniformly).",
    )
    max_wait_h: dict[Literal["pretrain", "finetune", "eval", "batch"], float] = Field(
        default_factory=dict, description="Longest acceptable queue wait per job kind [h]; absent = no limit."
    )

    @model_validator(mode="after")
    def _check(self) -> TrainingConfig:
        neg = {k: v for k, v in self.max_wait_h.items() if v < 0}
        if neg:
            raise ValueError(f"max_wait_h must be >= 0 hours; got {neg}")
        if any(not t.strip() for t in self.tenants):
            raise ValueError("tenant names must not be empty")
        if self.dev.profile_path is not None:  # the profile's arrival cycle, kinds and tenants replace these
            fields = DevJobsConfig.model_fields
            unused = [f"dev.{k}" for k in _REPLACED_BY_PROFILE if getattr(self.dev, k) != fields[k].default]
            unused += ["tenants"] if self.tenants != type(self).model_fields["tenants"].default_factory() else []
            if unused:
                raise ValueError(f"dev.profile_path's profile replaces {', '.join(unused)}, so the value set would "
                                 "not be used; remove them (or dev.profile_path)")
        return self


# DevJobsConfig fields a workload profile (dev.profile_path) replaces: its arrival cycle, job kinds and mix
_REPLACED_BY_PROFILE = ("profile", "diurnal_amplitude", "peak_hour", "weekend_factor", "batch_share")


class DisaggregatedServingConfig(Section):
    prefill_gpus: int = Field(ge=1, le=4096, description="GPUs of the prefill pool in one serving unit [GPU].")
    decode_gpus: int = Field(ge=1, le=4096, description="GPUs of the decode pool in one serving unit [GPU]; the "
                             "KV cache of each prompt crosses the scale-out network between them (NVLink when the "
                             "unit fits one NVLink domain).")


class ServingLayoutConfig(Section):
    """The layout of one serving replica: tp x pp GPUs."""

    tp: int = Field(ge=1, le=64, description="Tensor-parallel size: divides the model's attention heads and the "
                    "GPUs of one NVLink domain [-].")
    pp: int = Field(1, ge=1, le=1024, description="Pipeline stages: at most the model's layers, split as evenly "
                    "as they allow (the deepest stage bounds memory and the pipeline's cycle); tp x pp divides one "
                    "NVLink domain's GPUs or fills whole domains (the stage-to-stage sends between domains cross the "
                    "scale-out network) [-].")


class InferenceServiceConfig(Section):
    name: str | None = Field(None, pattern=_NAME, description="Service name; defaults to the model id.")
    model: str = Field(pattern=_NAME, description="Model served, e.g. 'mistral-large-2'.")
    peak_requests_per_s: float = Field(gt=0, description="Weekday peak request rate at the start of the span [req/s].")
    token_profile: Literal["conv", "code"] = Field(
        "conv", description="Azure LLM trace whose input/output token mix the requests follow (Patel et al. 2024)."
    )
    profile_path: Path | None = Field(
        None, description="Inference profile from `dctwin workload fit` on a request or QPS log (relative to the "
        "scenario file; packaged: dctwin/workload/data/profiles/azure-{code,conv}.inference.yaml). Its fitted token "
        "means replace token_profile's; its peak_to_trough, peak_hour and weekend_factor replace these fields where "
        "the log was long enough to fit them (null in the profile: the fields here are used); setting a field the "
        "profile replaces is refused.",
    )
    growth_per_year: float = Field(0.0, ge=-0.99, le=100, description="Demand growth per year [-] (1.0 = doubles).")
    peak_to_trough: float = Field(
        2.5, ge=1, le=20,
        description="Daily peak:trough request ratio [-]. Assumption: not sourced numerically; 2:1 to 3:1 is "
        "common (dossier §6c, gap 9).",
    )
    peak_hour: float = Field(14.0, ge=0, lt=24, description="Local hour of the daily peak [h] (assumption).")
    weekend_factor: float = Field(
        0.7, gt=0, le=2, description="Weekend demand relative to weekdays [-] (assumption; SageServe reports "
        "weekly periodicity, dossier §6c)."
    )
    noise_cv: float = Field(0.05, ge=0, le=1, description="Step-to-step random variation of demand [-].")
    ttft_ms: float = Field(
        450.0, gt=0, description="Time-to-first-token target [ms] (MLPerf Inference v5.0 interactive, dossier §6d)."
    )
    tpot_ms: float = Field(
        40.0, gt=0, description="Time-per-output-token target [ms] (MLPerf Inference v5.0 interactive, dossier §6d)."
    )

    disaggregated: DisaggregatedServingConfig | None = Field(
        None, description="Serve prefill and decode on separate GPU pools (Splitwise, DistServe): each step the "
        "prefill pool gets the units of prefill_gpus its prompts need and the decode pool the units of decode_gpus "
        "its tokens need (each unit's rate from dctwin.perf.disaggregated_perf at the TPOT target, the KV link "
        "included); each pool draws power at its own busy share (dctwin.serving.disagg_fluid). A prefill_gpus + "
        "decode_gpus pair whose prefill step plus KV transfer misses the TTFT target is refused. "
        "null: prefill and decode share each replica.",
    )
    layout: ServingLayoutConfig | Literal["auto"] = Field(
        "auto", description="Layout of one replica {tp, pp} (tp x pp GPUs), checked against the model and each "
        "pool's platform when the scenario is loaded: refused if it does not hold the weights and the KV cache of "
        "one request (the message gives the memory and the smallest layout that does) or meets no batch within "
        "ttft_ms and tpot_ms. 'auto': the most output tokens/s per GPU at the targets over tensor- and "
        "pipeline-parallel layouts (dctwin.perf.serving_layout); the report names the layout used per pool. "
        "Colocated serving only: refused with disaggregated.",
    )

    @model_validator(mode="after")
    def _layout_colocated(self) -> InferenceServiceConfig:
        if self.disaggregated is not None and self.layout != "auto":
            raise ValueError("layout sets the replica of a colocated service; a disaggregated service's prefill and "
                             "decode replicas are sized by dctwin.perf.disaggregated_perf (tensor parallel inside "
                             "each pool) and a layout is not modelled there: remove layout or disaggregated")
        return self

    @property
    def service(self) -> str:
        """The service's name (its model id when no name is given)."""
        return self.name or self.model


class WorkloadConfig(Section):
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    inference: list[InferenceServiceConfig] = Field(default_factory=list, description="Inference services.")
    serving_software: Literal["2024", "2025"] = Field(
        "2024", description="Serving stack whose measured efficiency the inference model uses: '2024' TensorRT-LLM "
        "as run in MLPerf Inference v4.0 (March 2024), '2025' as run in v5.1 (September 2025, ~25 % more throughput "
        "on the same GPU); perf/data/calibration.yaml compute_efficiency and compute_efficiency_2025. The default is "
        "the older, slower one.",
    )
    jobs_path: Path | None = Field(
        None, description="Replay this job table (CSV/Parquet, docs/job-schema.md) instead of generating jobs; "
        "relative to the scenario file.",
    )

    @field_validator("serving_software", mode="before")
    @classmethod
    def _year_as_written(cls, value):
        """``serving_software: 2025`` unquoted is YAML's integer 2025: the same year, read exactly."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _unique_services(self) -> WorkloadConfig:
        names = [s.service for s in self.inference]
        bad = [n for n in names if "__" in n]
        if bad:
            raise ValueError(f"inference service name '{bad[0]}' must not contain '__' (it separates column names)")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"inference service names must be unique; repeated: {', '.join(dup)} "
                             "(give each a distinct 'name')")
        return self
