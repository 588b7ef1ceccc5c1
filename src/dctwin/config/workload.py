"""Workload mix, scheduling and failure settings.

Owned by the workload engine; fields describe what runs and how it is placed.
"""

from __future__ import annotations

from pydantic import Field

from dctwin.config.base import Section

__all__ = ["TrainingConfig", "InferenceServiceConfig", "WorkloadConfig"]


class TrainingConfig(Section):
    share_of_gpus: float = Field(0.6, ge=0, le=1, description="Share of GPUs meant for training and batch work.")
    mean_utilisation: float = Field(
        0.85, ge=0, le=1, description="Mean busy share of those GPUs (used by the simple load estimate)."
    )


class InferenceServiceConfig(Section):
    model: str = Field(description="Model served, e.g. 'mistral-large-2'.")
    peak_requests_per_s: float = Field(gt=0, description="Peak request rate at the start of the span [req/s].")


class WorkloadConfig(Section):
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    inference: list[InferenceServiceConfig] = Field(default_factory=list, description="Inference services.")
