"""Simulation span, time step and seed."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator, model_validator

from dctwin.config.base import Section

__all__ = ["SimulationConfig"]

SECONDS_PER_DAY = 86_400
MAX_SUBMINUTE_DAYS = 7  # a day or a week at 1-s steps: 604,800 steps, a few arrays of that length


class SimulationConfig(Section):
    start: dt.date = Field(dt.date(2027, 1, 1), description="First day simulated (local calendar date).")
    duration_days: float = Field(365.0, gt=0, le=366 * 30, description="Simulated span [days].")
    step_s: int = Field(
        900,
        ge=1,
        le=3600,
        description=("Facility time step [s]; must divide one day. 900 s = 15 min, 60 s = 1 min; steps under "
                     f"60 s (down to 1 s, for power swings and ride-through) for spans up to {MAX_SUBMINUTE_DAYS} "
                     "days."),
    )
    seed: int = Field(42, ge=0, lt=2**63, description="Root seed; every random stream is derived from it.")

    @field_validator("step_s")
    @classmethod
    def _divides_day(cls, v: int) -> int:
        if SECONDS_PER_DAY % v:
            raise ValueError(f"step_s ({v}) must divide 86400 s evenly, e.g. 60, 300, 900, 1800 or 3600")
        return v

    @field_validator("start")
    @classmethod
    def _start_year(cls, v: dt.date) -> dt.date:
        if not 1900 <= v.year <= 2200:  # the same years every timestamp reader accepts (dctwin.timeparse)
            raise ValueError(f"start year {v.year} is outside 1900-2200")
        return v

    @model_validator(mode="after")
    def _at_least_one_step(self) -> SimulationConfig:
        if self.n_steps < 1:
            raise ValueError(f"duration_days ({self.duration_days:g}) is shorter than one step of {self.step_s} s")
        return self

    @model_validator(mode="after")
    def _subminute_steps_for_short_spans(self) -> SimulationConfig:
        if self.step_s < 60 and self.duration_days > MAX_SUBMINUTE_DAYS:
            raise ValueError(f"step_s ({self.step_s}) under 60 s is for spans up to {MAX_SUBMINUTE_DAYS} days "
                             f"(got duration_days {self.duration_days:g}); use 60 s or more for longer spans")
        return self

    @property
    def n_steps(self) -> int:
        """Number of facility steps in the span."""
        return int(round(self.duration_days * SECONDS_PER_DAY / self.step_s))
