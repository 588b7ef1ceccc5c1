"""Simulation span, time step and seed."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from dctwin.config.base import Section

__all__ = ["SimulationConfig"]

SECONDS_PER_DAY = 86_400


class SimulationConfig(Section):
    start: dt.date = Field(dt.date(2027, 1, 1), description="First day simulated (local calendar date).")
    duration_days: float = Field(365.0, gt=0, le=366 * 30, description="Simulated span [days].")
    step_s: int = Field(
        900,
        ge=60,
        le=3600,
        description="Facility time step [s]; must divide one day. 900 s = 15 min, 60 s = 1 min.",
    )
    seed: int = Field(42, ge=0, lt=2**63, description="Root seed; every random stream is derived from it.")

    @field_validator("step_s")
    @classmethod
    def _divides_day(cls, v: int) -> int:
        if SECONDS_PER_DAY % v:
            raise ValueError(f"step_s ({v}) must divide 86400 s evenly, e.g. 60, 300, 900, 1800 or 3600")
        return v

    @property
    def n_steps(self) -> int:
        """Number of facility steps in the span."""
        return int(round(self.duration_days * SECONDS_PER_DAY / self.step_s))
