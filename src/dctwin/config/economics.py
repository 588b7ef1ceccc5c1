"""Tariffs, prices and finance settings.

Owned by the accounting; every default is sourced in the default scenario.
"""

from __future__ import annotations

from pydantic import Field

from dctwin.config.base import Section

__all__ = ["EconomicsConfig"]


class EconomicsConfig(Section):
    currency: str = Field("EUR", description="Reporting currency.")
    usd_to_eur: float = Field(0.92, gt=0, description="FX rate for USD catalog prices [EUR/USD].")
    energy_tax_eur_per_mwh: float = Field(38.0, ge=0, description="Electricity tax [EUR/MWh].")
    grid_fee_eur_per_mwh: float = Field(8.0, ge=0, description="Grid transmission fee [EUR/MWh].")
    ppa_share: float = Field(0.0, ge=0, le=1, description="Share of consumption covered by a renewable PPA.")
    ppa_price_eur_per_mwh: float = Field(45.0, ge=0, description="PPA strike price [EUR/MWh].")
    heat_price_eur_per_mwh: float = Field(22.0, ge=0, description="Price paid for heat delivered [EUR/MWh].")
