"""Build-out phases: when racks of which platform come online, and their power envelope."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from dctwin.config.base import Section

__all__ = ["RackGroup", "Phase"]


class RackGroup(Section):
    platform: str = Field(description="Catalog id of the rack or server type (see `dctwin catalog list`).")
    count: int = Field(ge=0, le=1_000_000, description="Number of racks (or servers) of this type.")


class Phase(Section):
    name: str = Field(description="Phase name.")
    start: dt.date = Field(description="Date the phase's racks come online.")
    racks: list[RackGroup] = Field(min_length=1, description="Racks added in this phase.")
    power_envelope_mw: float = Field(
        gt=0, le=10_000, description="Facility power available once this phase is built (cumulative) [MW]."
    )
