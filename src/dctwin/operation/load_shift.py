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


def shift_deferrable(jobs: pd.DataFrame, defer_ok: np.ndarray, step_s: int) -> pd.DataFrame:
    """Jobs with each deferrable submission moved to the next step where deferrable work may start.

    ``defer_ok`` [bool] per step of ``step_s`` [s]; a job with no open step left keeps its time.
    """
    if defer_ok.all() or not jobs["deferrable"].any():
        return jobs
    n = len(defer_ok)
    ok_steps = np.flatnonzero(defer_ok)
    if ok_steps.size == 0:
        return jobs
    submit = jobs["submit_s"].to_numpy(dtype=np.float64).copy()
    step = np.minimum((submit // step_s).astype(np.int64), n - 1)
    movable = jobs["deferrable"].to_numpy(dtype=bool) & ~defer_ok[step]
    nxt = np.searchsorted(ok_steps, step[movable])
    has_slot = nxt < ok_steps.size
    idx = np.flatnonzero(movable)[has_slot]
    submit[idx] = ok_steps[nxt[has_slot]] * float(step_s)
    order = np.argsort(submit, kind="stable")
    out = jobs.iloc[order].reset_index(drop=True)
    out["submit_s"] = submit[order]
    return out
