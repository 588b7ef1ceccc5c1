"""The scenario: one frozen, validated object for a whole site and run."""

from __future__ import annotations

from pydantic import Field, model_serializer, model_validator

from dctwin.config.base import Section
from dctwin.config.cluster import SchedulerConfig
from dctwin.config.economics import EconomicsConfig
from dctwin.config.facility import FacilityConfig
from dctwin.config.operation import OperationConfig
from dctwin.config.phases import Phase
from dctwin.config.simulation import SimulationConfig
from dctwin.config.site import SiteConfig, site_economics
from dctwin.config.workload import WorkloadConfig

__all__ = ["Scenario"]


class Scenario(Section):
    """A datacenter site, its build-out, design, workload, economics and run settings."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="Scenario name: letters, digits, '.', '_' and '-'.")
    description: str = Field("", max_length=10_000, description="Free text shown in reports.")
    site: SiteConfig
    phases: list[Phase] = Field(min_length=1, max_length=100, description="Build-out phases, in date order.")
    facility: FacilityConfig = Field(default_factory=FacilityConfig)
    workload: WorkloadConfig = Field(default_factory=WorkloadConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    economics: EconomicsConfig = Field(default_factory=EconomicsConfig)
    operation: OperationConfig = Field(default_factory=OperationConfig)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)

    @model_validator(mode="after")
    def _economics_from_site(self) -> Scenario:
        """Fill tax, grid fee and residual mix left unset from the site's country and grid zone."""
        econ = self.economics
        fill = {k: v for k, v in site_economics(self.site).items() if getattr(econ, k) is None}
        if fill:
            filled = econ.model_copy(update=fill)
            filled._from_site = frozenset(fill)
            object.__setattr__(self, "economics", filled)  # frozen: set once, here
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        """Economics filled from the site are dumped unset, so a copy moved to another site takes that site's."""
        data = handler(self)
        econ = data.get("economics") if isinstance(data, dict) else None
        if isinstance(econ, dict):
            for key in self.economics._from_site:
                econ[key] = None
        return data

    @model_validator(mode="after")
    def _phases_in_order(self) -> Scenario:
        starts = [p.start for p in self.phases]
        if starts != sorted(starts):
            raise ValueError("phases must be listed in order of their start date")
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        for p in self.phases:
            if p.power_envelope_mw > self.site.grid_connection_mw:
                raise ValueError(
                    f"phase '{p.name}' power_envelope_mw ({p.power_envelope_mw}) exceeds "
                    f"site.grid_connection_mw ({self.site.grid_connection_mw})"
                )
        return self
