"""The fixed time axis shared by every time series of a run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.config.simulation import SimulationConfig

__all__ = ["Timeline"]


@dataclass(frozen=True)
class Timeline:
    """``n_steps`` steps of ``step_s`` seconds from local midnight of ``start`` (site standard time)."""

    start: dt.date
    step_s: int
    n_steps: int

    @classmethod
    def from_config(cls, sim: SimulationConfig) -> Timeline:
        return cls(start=sim.start, step_s=sim.step_s, n_steps=sim.n_steps)

    @property
    def step_h(self) -> float:
        """Step length [h]."""
        return self.step_s / 3600.0

    @property
    def t_s(self) -> np.ndarray:
        """Seconds since the start at each step's beginning [s]."""
        return np.arange(self.n_steps, dtype=np.int64) * self.step_s

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        """Naive local timestamps of each step's beginning."""
        return pd.date_range(pd.Timestamp(self.start), periods=self.n_steps, freq=pd.Timedelta(seconds=self.step_s))

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.start) + pd.Timedelta(seconds=self.step_s * self.n_steps)
