"""GPU power capping: always, or only when the spot price is high."""

from __future__ import annotations

import numpy as np

from dctwin.config.operation import PowerCapConfig
from dctwin.operation.base import ExogenousInputs, OperationPlan, no_policy_plan, register
from dctwin.perf.power import power_cap_throughput_factor


@register("power_cap")
class PowerCap:
    def __init__(self, config: PowerCapConfig) -> None:
        self.config = config

    def plan(self, exo: ExogenousInputs) -> OperationPlan:
        c = self.config
        out = no_policy_plan(exo)
        on = (np.ones(exo.n_steps, dtype=bool) if c.when == "always"
              else np.asarray(exo.price_eur_per_mwh) > c.price_above_eur_per_mwh)
        out.power_cap_frac = np.where(on, c.cap_frac, 1.0)
        out.throughput_factor = power_cap_throughput_factor(exo.platform, out.power_cap_frac, params=exo.perf_params)
        out.notes["power_cap_steps"] = int(on.sum())
        return out
