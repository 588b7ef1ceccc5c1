"""Energy-aware operation: which policies run, and their settings.

Owned by the accounting/operation package (``dctwin.operation``); the lead
wires it into ``Scenario`` as ``operation:``. Every policy is off unless its
name is listed in ``policies``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dctwin.config.base import Section

__all__ = [
    "POLICY_NAMES",
    "DemandResponseConfig",
    "DemandResponseEvent",
    "HeatLedConfig",
    "LoadShiftConfig",
    "OperationConfig",
    "PowerCapConfig",
]

POLICY_NAMES = ("power_cap", "load_shift", "demand_response", "heat_led")


class PowerCapConfig(Section):
    cap_frac: float = Field(0.8, ge=0.3, le=1.0, description="GPU power cap as a share of its maximum power [-].")
    when: Literal["always", "price_above"] = Field(
        "always", description="'always', or only in steps whose spot price exceeds price_above_eur_per_mwh."
    )
    price_above_eur_per_mwh: float = Field(100.0, description="Price threshold for when='price_above' [EUR/MWh].")


class LoadShiftConfig(Section):
    signal: Literal["price", "carbon"] = Field("price", description="Signal deferrable work avoids.")
    closed_share: float = Field(
        0.25, gt=0, lt=1,
        description="Share of each day's steps, the highest of the signal, in which deferrable jobs may not start [-].",
    )


class DemandResponseEvent(Section):
    start: dt.datetime = Field(description="Local start of the grid event.")
    duration_h: float = Field(gt=0, le=168, description="Length of the event [h].")
    cut_mw: float = Field(gt=0, description="Facility power the grid operator asks the site to shed [MW].")
    payment_eur_per_mw: float = Field(0.0, ge=0, description="Payment for the capacity offered, per event [EUR/MW].")


class DemandResponseConfig(Section):
    events: list[DemandResponseEvent] = Field(default_factory=list, description="Grid demand-response events.")


class HeatLedConfig(Section):
    months: list[int] = Field([11, 12, 1, 2, 3], description="Months in which operation follows heat demand.")
    demand_quantile: float = Field(
        0.5, gt=0, lt=1,
        description="In those months deferrable jobs start only when heat demand is at or above this quantile "
        "of the month's demand [-].",
    )

    @field_validator("months")
    @classmethod
    def _months_ok(cls, v: list[int]) -> list[int]:
        bad = [m for m in v if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months must be 1..12 (got {bad})")
        return v


class OperationConfig(Section):
    policies: list[str] = Field(default_factory=list,
                                description=f"Enabled policies, any of {', '.join(POLICY_NAMES)}.")
    facility_overhead: float = Field(
        1.0, ge=1.0, le=3.0, description=(
            "Grid kW shed per IT kW shed, used to turn a demand-response grid cut into GPUs [-]. Default 1.0, the "
            "floor: the site then sheds at least the asked cut (a programme penalises shortfall, not excess). The "
            "marginal value is near 1 with dry coolers and heat pumps off, up to about PUE with chillers running."))
    power_cap: PowerCapConfig = Field(default_factory=PowerCapConfig)
    load_shift: LoadShiftConfig = Field(default_factory=LoadShiftConfig)
    demand_response: DemandResponseConfig = Field(default_factory=DemandResponseConfig)
    heat_led: HeatLedConfig = Field(default_factory=HeatLedConfig)

    @model_validator(mode="after")
    def _known(self) -> OperationConfig:
        bad = [p for p in self.policies if p not in POLICY_NAMES]
        if bad:
            raise ValueError(f"unknown operation policy {bad[0]!r}; valid: {', '.join(POLICY_NAMES)}")
        if len(set(self.policies)) != len(self.policies):
            raise ValueError("operation policies are listed twice")
        return self
