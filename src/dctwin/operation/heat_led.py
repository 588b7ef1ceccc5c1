"""Heat-led operation in winter: start deferrable work when the district-heating network wants heat.

In the configured months, deferrable jobs start only in steps whose heat demand
is at or above the month's ``demand_quantile``; the rest of the year is free.
Without a heat-demand series, cold steps (low dry-bulb) stand in for high demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.config.operation import HeatLedConfig
from dctwin.errors import InputError
from dctwin.operation.base import ExogenousInputs, OperationPlan, no_policy_plan, register


@register("heat_led")
class HeatLed:
    def __init__(self, config: HeatLedConfig) -> None:
        self.config = config

    def plan(self, exo: ExogenousInputs) -> OperationPlan:
        if exo.heat_demand_mw is not None:
            want = np.asarray(exo.heat_demand_mw, dtype=float)
        elif exo.dry_bulb_c is not None:
            want = -np.asarray(exo.dry_bulb_c, dtype=float)
        else:
            raise InputError("heat_led needs a heat-demand or dry-bulb series", field="operation.policies",
                             value="heat_led")
        ts = pd.DatetimeIndex(exo.timestamps)
        month = ts.month.to_numpy()
        key = ts.to_period("M").astype(str).to_numpy()
        threshold = pd.Series(want).groupby(key).transform(lambda s: s.quantile(self.config.demand_quantile))
        in_season = np.isin(month, self.config.months)
        out = no_policy_plan(exo)
        out.defer_ok = ~in_season | (want >= threshold.to_numpy())
        out.notes["heat_led_closed_steps"] = int((~out.defer_ok).sum())
        return out
