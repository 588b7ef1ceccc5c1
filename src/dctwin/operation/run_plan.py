"""The orchestrator's view of the operation plan: built from the scenario, the timeline, the site series and the
pools."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.config.operation import OperationConfig
from dctwin.operation.base import ExogenousInputs, OperationPlan, combine_plans, get_policy
from dctwin.perf.params import PerfParams
from dctwin.perf.power import power_cap_throughput_factor

__all__ = ["RUN_PLAN_CODEC", "RunPlan", "exogenous_inputs", "operation_stage", "plan_for_run"]


@dataclass
class RunPlan:
    """A site-level ``OperationPlan`` with per-pool views for the cluster engine."""

    plan: OperationPlan
    gpus_installed: np.ndarray
    active: bool

    @property
    def power_cap_frac(self) -> np.ndarray:
        return self.plan.power_cap_frac

    @property
    def defer_ok(self) -> np.ndarray:
        return self.plan.defer_ok

    @property
    def notes(self) -> dict:
        return self.plan.notes

    def gpu_cap(self, pool) -> np.ndarray | None:
        """Most busy GPUs of ``pool`` per step (its share of the site cap), or None when nothing is capped."""
        if not np.any(self.plan.gpu_cap < self.gpus_installed):
            return None
        share = np.divide(pool.gpus_online, self.gpus_installed, out=np.zeros(len(self.gpus_installed)),
                          where=self.gpus_installed > 0)
        return np.floor(self.plan.gpu_cap * share).astype(np.int64)

    def gpu_cut(self, pool) -> np.ndarray:
        """GPUs of ``pool`` to shed below its baseline per step (its share of the site cut) [GPU]."""
        share = np.divide(pool.gpus_online, self.gpus_installed, out=np.zeros(len(self.gpus_installed)),
                          where=np.asarray(self.gpus_installed) > 0)
        return np.ceil(self.plan.gpu_cut * share).astype(np.int64)

    def throughput_factor(self, pool, params: PerfParams | None = None) -> np.ndarray:
        """Work rate of ``pool``'s GPUs under the cap [-], with the run's performance constants ``params``."""
        return np.asarray(power_cap_throughput_factor(pool.platform, self.plan.power_cap_frac, params=params),
                          dtype=float)

    def to_frame(self) -> pd.DataFrame:
        return self.plan.to_frame()


def exogenous_inputs(scenario, timeline, site: pd.DataFrame, pools, config: OperationConfig, *,
                     perf_params: PerfParams | None = None, facility_params=None) -> ExogenousInputs:
    """Policy inputs from the run's site series and pools (main platform: the pool with most GPUs) and the run's
    model constants (None: packaged)."""
    n = timeline.n_steps
    gpus = np.zeros(n)
    for p in pools:
        gpus = gpus + p.gpus_online
    main = max(pools, key=lambda p: int(p.gpus_online.max(initial=0))).platform
    def col(c):
        return (site[c].to_numpy(dtype=float) if c in site.columns else None)
    return ExogenousInputs(timestamps=timeline.timestamps, step_s=timeline.step_s,
                           price_eur_per_mwh=col("price_eur_per_mwh"), carbon_g_per_kwh=col("carbon_g_per_kwh"),
                           gpus_installed=gpus.astype(np.int64), platform=main, heat_demand_mw=col("heat_demand_mw"),
                           dry_bulb_c=col("dry_bulb_c"), facility_overhead=config.facility_overhead,
                           perf_params=perf_params, facility_params=facility_params)


def plan_for_run(scenario, timeline, site: pd.DataFrame, pools) -> RunPlan:
    """The combined plan of ``scenario.operation`` (none configured: the neutral plan)."""
    return operation_stage(getattr(scenario, "operation", None) or OperationConfig(), timeline, site, pools)


def operation_stage(config: OperationConfig, timeline, site: pd.DataFrame, pools, *,
                    perf_params: PerfParams | None = None, facility_params=None) -> RunPlan:
    """The operation stage of a run: every enabled policy's plan, combined, with per-pool views; the policies see
    the run's performance constants (the power-cap throughput law) and facility ones (the IT power curve)."""
    exo = exogenous_inputs(None, timeline, site, pools, config, perf_params=perf_params,
                           facility_params=facility_params)
    plans = [get_policy(name, getattr(config, name)).plan(exo) for name in config.policies]
    return RunPlan(plan=combine_plans(exo, plans), gpus_installed=exo.gpus_installed, active=bool(config.policies))


class _RunPlanCodec:
    """Stage-cache parts of a ``RunPlan``: the plan's arrays and notes, installed GPUs, whether active."""

    def to_parts(self, value: RunPlan) -> dict:
        plan = value.plan
        return {"power_cap_frac": plan.power_cap_frac, "gpu_cap": plan.gpu_cap, "defer_ok": plan.defer_ok,
                "throughput_factor": plan.throughput_factor, "gpu_cut": plan.gpu_cut, "notes": plan.notes,
                "gpus_installed": value.gpus_installed, "active": value.active}

    def from_parts(self, parts: dict) -> RunPlan:
        plan = OperationPlan(power_cap_frac=parts["power_cap_frac"], gpu_cap=parts["gpu_cap"],
                             defer_ok=parts["defer_ok"], throughput_factor=parts["throughput_factor"],
                             gpu_cut=parts["gpu_cut"], notes=parts["notes"])
        return RunPlan(plan=plan, gpus_installed=parts["gpus_installed"], active=parts["active"])


RUN_PLAN_CODEC = _RunPlanCodec()
