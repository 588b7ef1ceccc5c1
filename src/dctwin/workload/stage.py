"""The workload stage of a run: inference demand per service and step (jobs are drawn per pool)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dctwin.config.workload import WorkloadConfig
from dctwin.timeline import Timeline
from dctwin.workload.inference import inference_demand, services

__all__ = ["InferenceDemand", "workload_stage"]


@dataclass(frozen=True)
class InferenceDemand:
    """``demand``: ``<svc>__requests_per_s`` [req/s], ``__input_tokens_per_s``, ``__output_tokens_per_s``
    [tokens/s] per step (index 0..n-1); ``services``: one row per service (index: service name)."""

    demand: pd.DataFrame
    services: pd.DataFrame


def workload_stage(workload: WorkloadConfig, timeline: Timeline, seed: int) -> InferenceDemand:
    """The inference demand of ``workload`` on ``timeline``."""
    return InferenceDemand(inference_demand(workload, timeline, seed).reset_index(drop=True), services(workload))
