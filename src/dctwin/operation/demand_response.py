"""Grid demand response: shed ``cut_mw`` for ``duration_h`` by capping busy GPUs.

The GPU cut is sized so that the site sheds ``cut_mw`` of grid power below its
baseline, the load it would have drawn without the event (as demand-response
programmes measure it): ``ceil(cut_mw x 1000 / facility_overhead / gpu_swing_kw)``
GPUs fewer than the baseline run keeps busy in those steps.
Deferrable starts are closed during the event too; the delayed work shows up
as the policy run's lost GPU-hours and queue waits.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dctwin.config.operation import DemandResponseConfig
from dctwin.operation.base import ExogenousInputs, OperationPlan, no_policy_plan, register


@register("demand_response")
class DemandResponse:
    def __init__(self, config: DemandResponseConfig) -> None:
        self.config = config

    def event_mask(self, exo: ExogenousInputs, event) -> np.ndarray:
        ts = pd.DatetimeIndex(exo.timestamps)
        start = pd.Timestamp(event.start)
        return np.asarray((ts >= start) & (ts < start + pd.Timedelta(hours=event.duration_h)))

    def plan(self, exo: ExogenousInputs) -> OperationPlan:
        out = no_policy_plan(exo)
        events = []
        for ev in self.config.events:
            mask = self.event_mask(exo, ev)
            n_cut = math.ceil(ev.cut_mw * 1000.0 / exo.facility_overhead / exo.gpu_swing_kw)
            out.gpu_cut = np.where(mask, np.maximum(out.gpu_cut, n_cut), out.gpu_cut)
            out.defer_ok &= ~mask
            events.append({"start": str(ev.start), "steps": int(mask.sum()), "gpus_cut": n_cut,
                           "payment_eur": ev.payment_eur_per_mw * ev.cut_mw})
        out.notes["demand_response_events"] = events
        return out


def cap_below_baseline(baseline_busy_gpus: np.ndarray, gpu_cut: np.ndarray, gpus_online: np.ndarray) -> np.ndarray:
    """Busy-GPU cap of a demand-response run: the baseline run's busy GPUs less the cut where an event asks
    for one, every online GPU elsewhere [GPU]."""
    shed = np.floor(np.maximum(baseline_busy_gpus - gpu_cut, 0))
    return np.where(gpu_cut > 0, shed, gpus_online).astype(np.int64)
