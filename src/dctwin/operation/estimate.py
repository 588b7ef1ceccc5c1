"""A fluid estimate of a plan's effect, for tests and quick what-ifs (the cluster engine does it properly).

Inference is served first and is never deferred. Training demand runs up to
the GPUs left; what cannot run (cap reached, or the deferrable share in a
closed step) joins a backlog served in later open steps with spare GPUs. The
backlog follows Lindley's recursion ``b_k = max(0, b_{k-1} + a_k - s_k)``,
solved without a loop as ``S_k - min(0, min_{j<=k} S_j)`` with ``S = cumsum(a - s)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.operation.base import ExogenousInputs, OperationPlan

__all__ = ["apply_plan"]


def _lindley(arrivals: np.ndarray, service: np.ndarray) -> np.ndarray:
    s = np.cumsum(arrivals - service)
    return s - np.minimum(0.0, np.minimum.accumulate(s))


def apply_plan(exo: ExogenousInputs, plan: OperationPlan, training_demand_gpus: np.ndarray,
               inference_demand_gpus: np.ndarray, *, deferrable_share: float = 1.0) -> pd.DataFrame:
    """Per-step series (accounting columns) of a run under ``plan``.

    training_demand_gpus, inference_demand_gpus: GPUs the workload wants busy
    [GPUs]; deferrable_share: share of training that waits in closed steps [-].
    Adds ``backlog_gpu_hours`` [GPU-h], ``power_cap_frac`` and ``throughput_factor`` [-].
    """
    step_h = exo.step_s / 3600.0
    cap = plan.gpu_cap.astype(float)
    inf = np.minimum(np.asarray(inference_demand_gpus, dtype=float), cap)
    room = cap - inf
    want = np.asarray(training_demand_gpus, dtype=float)
    closed = ~plan.defer_ok
    runnable = want * np.where(closed, 1.0 - deferrable_share, 1.0)
    run_now = np.minimum(runnable, room)
    arrivals = (want - run_now) * step_h                                  # GPU-hours deferred
    spare = np.where(closed, 0.0, room - run_now) * step_h                # GPU-hours free for the backlog
    backlog = _lindley(arrivals, spare)
    prev = np.concatenate(([0.0], backlog[:-1]))
    served = (prev + arrivals - backlog) / step_h                         # GPUs on backlog work
    train = run_now + served
    busy = train + inf
    p = exo.platform
    idle_kw = p.unit_idle_kw / p.gpus_per_unit
    busy_kw = idle_kw + (exo.gpu_max_kw - idle_kw) * plan.power_cap_frac
    online = np.asarray(exo.gpus_installed, dtype=float)
    it_kw = (online - busy) * idle_kw + busy * busy_kw
    return pd.DataFrame({
        "t_s": np.arange(exo.n_steps) * exo.step_s, "timestamp": exo.timestamps,
        "it_power_kw": it_kw, "grid_power_kw": it_kw * exo.facility_overhead,
        "heat_delivered_kw": np.zeros(exo.n_steps), "heat_pump_kw": np.zeros(exo.n_steps),
        "price_eur_per_mwh": exo.price_eur_per_mwh, "carbon_g_per_kwh": exo.carbon_g_per_kwh,
        "gpus_online": online, "gpus_busy_training": train, "gpus_busy_inference": inf,
        "water_l_per_h": np.zeros(exo.n_steps), "backlog_gpu_hours": backlog,
        "power_cap_frac": plan.power_cap_frac, "throughput_factor": plan.throughput_factor,
    })
