"""Shift deferrable work out of each day's most expensive (or most carbon-intensive) steps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.config.operation import LoadShiftConfig
from dctwin.operation.base import ExogenousInputs, OperationPlan, no_policy_plan, register


@register("load_shift")
class LoadShift:
    def __init__(self, config: LoadShiftConfig) -> None:
        self.config = config

    def plan(self, exo: ExogenousInputs) -> OperationPlan:
        signal = np.asarray(exo.price_eur_per_mwh if self.config.signal == "price" else exo.carbon_g_per_kwh,
                            dtype=float)
        day = pd.DatetimeIndex(exo.timestamps).normalize()
        # rank of each step within its day, 0 = lowest signal; close the top share
        rank = pd.Series(signal).groupby(np.asarray(day)).rank(method="first", pct=True).to_numpy()
        out = no_policy_plan(exo)
        out.defer_ok = rank <= 1.0 - self.config.closed_share
        out.notes["load_shift_closed_steps"] = int((~out.defer_ok).sum())
        return out
