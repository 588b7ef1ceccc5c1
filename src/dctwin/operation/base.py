"""The operation-policy interface: exogenous arrays in, an ``OperationPlan`` out.

A policy decides before the cluster runs, from the exogenous series only, so
the pipeline stays one way. The orchestrator applies the plan:

* ``power_cap_frac[k]`` [-]: GPU power cap in step k; IT power of a busy GPU is
  scaled by it and its work rate by ``throughput_factor[k]``;
* ``gpu_cap[k]`` [GPUs]: most GPUs that may be busy in step k;
* ``defer_ok[k]``: deferrable (training and batch) jobs may start in step k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from dctwin.catalog import Platform
from dctwin.errors import InputError
from dctwin.perf.power import power_cap_throughput_factor

if TYPE_CHECKING:
    from dctwin.facility.params import FacilityParams
    from dctwin.perf.params import PerfParams

__all__ = [
    "REGISTRY",
    "ExogenousInputs",
    "OperationPlan",
    "OperationPolicy",
    "combine_plans",
    "get_policy",
    "no_policy_plan",
    "register",
]


@dataclass(frozen=True)
class ExogenousInputs:
    """What a policy may know before the run, one value per step.

    timestamps: local step starts; step_s [s]; price_eur_per_mwh; carbon_g_per_kwh;
    heat_demand_mw [MW] (optional); dry_bulb_c [°C] (optional); gpus_installed
    [GPUs] online in each step; platform: the (main) rack type; facility_overhead:
    grid kW per IT kW [-]; perf_params and facility_params: the run's model constants (None: packaged).
    """

    timestamps: pd.DatetimeIndex
    step_s: int
    price_eur_per_mwh: np.ndarray
    carbon_g_per_kwh: np.ndarray
    gpus_installed: np.ndarray
    platform: Platform
    heat_demand_mw: np.ndarray | None = None
    dry_bulb_c: np.ndarray | None = None
    facility_overhead: float = 1.0
    perf_params: PerfParams | None = None
    facility_params: FacilityParams | None = None

    @property
    def n_steps(self) -> int:
        return len(self.timestamps)

    @property
    def gpu_max_kw(self) -> float:
        """IT power of one busy GPU with its share of the rack [kW]."""
        return self.platform.unit_max_kw / self.platform.gpus_per_unit

    @property
    def gpu_swing_kw(self) -> float:
        """IT power saved when one busy GPU goes idle, its share of the rack's other parts included [kW]."""
        from dctwin.facility.it_power import rack_power_curve_kw

        p = self.facility_params
        swing = float(rack_power_curve_kw(self.platform, 1.0, params=p)
                      - rack_power_curve_kw(self.platform, 0.0, params=p))
        return swing / self.platform.gpus_per_unit


@dataclass
class OperationPlan:
    """Per-step decisions of the operation policies (see module docstring)."""

    power_cap_frac: np.ndarray
    gpu_cap: np.ndarray
    defer_ok: np.ndarray
    throughput_factor: np.ndarray
    gpu_cut: np.ndarray | None = None  # GPUs to shed below the run's own baseline (demand response) [GPU]
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.gpu_cut is None:
            self.gpu_cut = np.zeros(len(self.gpu_cap), dtype=np.int64)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"power_cap_frac": self.power_cap_frac, "gpu_cap": self.gpu_cap,
                             "gpu_cut": self.gpu_cut, "defer_ok": self.defer_ok,
                             "throughput_factor": self.throughput_factor})


class OperationPolicy(Protocol):
    name: str

    def plan(self, exo: ExogenousInputs) -> OperationPlan: ...


REGISTRY: dict[str, Callable[..., OperationPolicy]] = {}


def register(name: str) -> Callable:
    """Class decorator: add an operation policy under ``name``; a second policy of the same name is refused."""
    if name in REGISTRY:
        raise ValueError(f"operation policy {name!r} is registered twice")

    def deco(cls):
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return deco


def get_policy(name: str, config) -> OperationPolicy:
    """The policy ``name`` built from its config section; an unknown name lists the valid ones."""
    if name not in REGISTRY:
        raise InputError("unknown operation policy", field="operation.policies", value=name,
                         allowed=", ".join(sorted(REGISTRY)))
    return REGISTRY[name](config)


def no_policy_plan(exo: ExogenousInputs) -> OperationPlan:
    """The plan that changes nothing: no cap, every installed GPU, starts always allowed."""
    n = exo.n_steps
    return OperationPlan(power_cap_frac=np.ones(n), gpu_cap=np.asarray(exo.gpus_installed, dtype=np.int64).copy(),
                         defer_ok=np.ones(n, dtype=bool), throughput_factor=np.ones(n))


def combine_plans(exo: ExogenousInputs, plans: list[OperationPlan]) -> OperationPlan:
    """The tightest of several plans: lowest cap, fewest GPUs, starts only where all allow."""
    out = no_policy_plan(exo)
    for p in plans:
        out.power_cap_frac = np.minimum(out.power_cap_frac, p.power_cap_frac)
        out.gpu_cap = np.minimum(out.gpu_cap, p.gpu_cap)
        out.gpu_cut = np.maximum(out.gpu_cut, p.gpu_cut)
        out.defer_ok = out.defer_ok & p.defer_ok
        out.notes.update(p.notes)
    out.throughput_factor = power_cap_throughput_factor(exo.platform, out.power_cap_frac, params=exo.perf_params)
    return out
