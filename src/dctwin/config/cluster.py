"""Scheduling, placement, failure and checkpoint settings of the cluster simulation.

Owned by the cluster engine. Failure and checkpoint settings are nested in
``scheduler`` (``scheduler.failures``, ``scheduler.checkpoint``) so that the
cluster simulation takes one section. ``None`` means "use the published
default in ``dctwin/cluster/data/failure_rates.yaml``".
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dctwin.config.base import Section

__all__ = ["CheckpointConfig", "FailureConfig", "SchedulerConfig"]


class FailureConfig(Section):
    enabled: bool = Field(True, description="Draw component failures for running jobs.")
    rates: str = Field("llama3-h100", description="Failure-rate data set (cluster/data/failure_rates.yaml id).")
    rate_scale: float = Field(1.0, ge=0, le=10_000, description="Multiplier on every component rate [-].")
    detect_s: float | None = Field(None, ge=0, le=86_400, description="Failure detection and teardown time [s].")
    restart_s: float | None = Field(None, ge=0, le=86_400,
                                    description="Job relaunch time: reschedule, init, load checkpoint [s].")
    repair_s: float | None = Field(None, ge=0, le=90 * 86_400, description="Time a failed node stays down [s].")
    node_gpus: int | None = Field(None, ge=1, le=1024,
                                  description="GPUs taken down by a node failure; None: 8, or the domain if smaller.")
    spare_fraction: float = Field(
        0.0, ge=0, le=0.5,
        description="Share of online GPUs held back as hot spares, used only to replace failed nodes [-].")
    max_restarts: int = Field(1000, ge=0, description="Restarts after which a job is marked 'failed'.")


class CheckpointConfig(Section):
    policy: Literal["young_daly", "fixed", "none"] = Field(
        "young_daly", description="Checkpoint interval rule: Young/Daly optimum sqrt(2 C M), fixed, or none.")
    interval_s: float = Field(3600.0, gt=0, description="Interval for policy 'fixed' [s].")
    cost_s: float | None = Field(None, ge=0, le=3600, description="Training stall per checkpoint write [s].")


class SchedulerConfig(Section):
    policy: str = Field("easy_backfill", description="Scheduling policy: fifo, easy_backfill, priority_preempt, "
                        "fair_share or tenant_quota.")
    placement: str = Field("topology", description="Placement: topology (fewest NVLink domains) or first_fit.")
    gang_rule: str = Field("none", description="Gang placement rule: none (any free GPUs; the placement packs them "
                           "into few domains) or domain (a job of up to one scale-up domain must sit in one; a larger "
                           "job takes whole free domains plus one for the remainder; it waits for that shape even "
                           "while enough GPUs are free in total: fragmentation, reported as fragmentation_wait_frac). "
                           "domain needs placement topology.")
    backfill_depth: int = Field(1000, ge=1, le=100_000,
                                description="Queued jobs examined per backfill pass (like Slurm bf_max_job_test).")
    obey_facility_limits: bool = Field(True, description="Keep busy GPUs under the facility's per-step cap.")
    inference_preempts_training: bool = Field(
        True, description="Inference takes lent capacity back from training at its peak (preempting jobs).")
    inference_scale_down_window_s: float | None = Field(
        None, ge=0, le=3600, description="Inference autoscaler: held replicas shrink only to the highest need of the "
        "step edges in the last this many seconds (Kubernetes HPA scale-down stabilization; no effect at steps this "
        "long or longer) [s]. None: 300 s (cluster/data/inference_autoscaler.yaml).")
    inference_scale_tolerance: float | None = Field(
        None, ge=0, le=0.25, description="Inference autoscaler: held replicas stay while need / held is within "
        "1 +- this (Kubernetes HPA tolerance; above 0.25 replicas sized for 80 % load would run past 100 %) [-]. "
        "None: 0.1 (cluster/data/inference_autoscaler.yaml).")
    inference_scale_sync_s: float | None = Field(
        None, ge=1, le=600, description="Inference autoscaler: time between its decisions (Kubernetes HPA sync "
        "period); at shorter steps it decides once a period on the period's mean need [s]. None: 15 s "
        "(cluster/data/inference_autoscaler.yaml).")
    tenant_quota_share: dict[str, float] = Field(
        default_factory=dict, description="Policy tenant_quota: most of the online GPUs each tenant may hold [-] "
        "(0-1; tenants not listed: no quota). A tenant at its quota waits even while GPUs are idle.")
    latency_path: Path | None = Field(
        None, description="Workload profile (from `dctwin workload fit` on a log with queue waits) whose "
        "'scheduler_latency' sets each job's delay before it reaches free GPUs: bind latency plus failed "
        "attempts x retry period (dctwin.cluster.latency). None: jobs reach the queue at submission.")
    failures: FailureConfig = Field(default_factory=FailureConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)

    @model_validator(mode="after")
    def _quotas(self) -> SchedulerConfig:
        bad = {k: v for k, v in self.tenant_quota_share.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"tenant_quota_share values must be between 0 and 1; got {bad}")
        if self.gang_rule not in ("none", "domain"):
            raise ValueError(f"gang_rule must be none or domain; got '{self.gang_rule}'")
        if self.gang_rule != "none" and self.placement != "topology":
            raise ValueError(f"gang_rule '{self.gang_rule}' needs placement topology (placement is '{self.placement}')")
        if self.tenant_quota_share and self.policy != "tenant_quota":
            raise ValueError(f"tenant_quota_share is used only by policy 'tenant_quota' (policy is '{self.policy}')")
        return self
