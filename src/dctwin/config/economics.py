"""Tariffs, prices, capex, operating costs and finance settings.

Owned by the accounting. Defaults come from
``dctwin/accounting/data/cost_norms.yaml``, where every number has its source;
the default scenario restates the site-specific ones beside their sources.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr

from dctwin.config.base import Section
from dctwin.datafile import read_data_yaml, read_sources, sourced_value

__all__ = ["CapexConfig", "EconomicsConfig", "FinanceConfig", "OpexConfig", "cost_norms", "norm_range"]


@lru_cache(maxsize=1)
def cost_norms() -> dict[str, Any]:
    """The sourced cost norms file as ``{name: {value, unit, source, note}}`` plus ``sources``."""
    # read by path, not through the dctwin.accounting package, which imports config
    path = Path(__file__).resolve().parent.parent / "accounting" / "data" / "cost_norms.yaml"
    doc = read_data_yaml(path, "cost norms file")
    sources = read_sources(doc, str(path))
    for name, entry in (doc.get("values") or {}).items():  # checked, returned as written
        sourced_value(entry, f"values.{name}", sources, str(path), shape="numbers")
    return doc


def _norm(name: str) -> Any:
    return cost_norms()["values"][name]["value"]


def norm_range(name: str) -> tuple[float, float] | None:
    """The sourced ``[low, high]`` range of a cost norm, or None when the file gives none."""
    rng = cost_norms()["values"][name].get("range")
    return (float(rng[0]), float(rng[1])) if rng else None


class CapexConfig(Section):
    """Investment: facility per MW and per phase, IT per rack from the catalog."""

    facility_capex_usd_per_mw: float = Field(
        _norm("facility_capex_usd_per_mw"), gt=0,
        description="Facility construction cost per MW of IT capacity added in a phase [USD/MW] "
        "(Cushman & Wakefield 2025 US average; power, cooling and shell).",
    )
    facility_basis: Literal["it_capacity", "power_envelope"] = Field(
        "it_capacity",
        description="MW the facility rate applies to: installed IT capacity of the phase's racks, "
        "or the growth of the phase's power envelope.",
    )
    soft_cost_frac: float = Field(
        _norm("soft_cost_frac"), ge=0, le=1, description="Design, permits and commissioning, share of facility hard "
                                                         "cost [-]."
    )
    network_storage_frac_of_it: float = Field(
        _norm("network_storage_frac_of_it"), ge=0, le=1,
        description="Scale-out network and storage outside the rack price, share of rack capex [-].",
    )
    heat_pump_capex_eur_per_mw: float = Field(
        _norm("heat_pump_capex_eur_per_mw"), ge=0, description="Heat-pump plant per MW of heat output [EUR/MW]."
    )
    chiller_capex_usd_per_mw: float = Field(
        _norm("chiller_capex_usd_per_mw"), ge=0, description="Trim chillers per MW of heat [USD/MW]."
    )
    dry_cooler_capex_usd_per_mw: float = Field(
        _norm("dry_cooler_capex_usd_per_mw"), ge=0,
        description="Dry coolers per MW of heat [USD/MW]; inside the facility rate, used by the planner to trade "
        "dry-cooler against chiller capacity.",
    )
    rack_price_usd: dict[str, Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Override of the catalog's unit price by platform id [USD per unit]."
    )


class OpexConfig(Section):
    """Fixed operating costs per year."""

    staff_fte: float = Field(_norm("staff_fte"), ge=0, description="Permanent site staff [FTE].")
    staff_cost_eur_per_fte_year: float = Field(
        _norm("staff_cost_eur_per_fte_year"), ge=0, description="Employer cost of one FTE [EUR/year]."
    )
    insurance_frac_per_year: float = Field(
        _norm("insurance_frac_per_year"), ge=0, le=0.1, description="Property insurance, share of capex per year "
                                                                    "[1/year]."
    )
    facility_maintenance_frac_per_year: float = Field(
        _norm("facility_maintenance_frac_per_year"), ge=0, le=0.2,
        description="Facility maintenance, share of facility capex per year [1/year].",
    )
    it_maintenance_frac_per_year: float = Field(
        _norm("it_maintenance_frac_per_year"), ge=0, le=0.2,
        description="IT spares and support, share of IT capex per year [1/year].",
    )
    water_price_eur_per_m3: float = Field(0.0, ge=0, description="Water price [EUR/m3].")


class FinanceConfig(Section):
    """Horizon, asset lives and the cost of capital."""

    horizon_years: int = Field(10, ge=1, le=40, description="TCO and NPV horizon from the simulation start [years].")
    it_life_years: float = Field(
        _norm("it_life_years"), ge=1, le=10, description="Straight-line depreciation life of IT (issue range 4-6) "
                                                         "[years]."
    )
    facility_life_years: float = Field(
        _norm("facility_life_years"), ge=5, le=40,
        description="Straight-line depreciation life of the facility (issue range 15-25) [years].",
    )
    wacc: float = Field(_norm("wacc"), ge=0, le=0.5, description="Weighted average cost of capital [1/year].")
    discount_rate: float | None = Field(
        None, ge=0, le=0.5, description="Discount rate for NPV [1/year]; defaults to the WACC."
    )
    revenue_eur_per_gpu_hour: float = Field(
        _norm("revenue_eur_per_gpu_hour"), ge=0,
        description="Spot price of a GPU-hour in the year its GPU generation is installed [EUR/GPU-h]; falls by "
        "gpu_price_decline_per_year as the generation ages and restarts at each IT refresh.",
    )
    gpu_price_decline_per_year: float = Field(
        _norm("gpu_price_decline_per_year"), ge=0, lt=1,
        description="Yearly fall of the spot GPU-hour price of an installed generation [1/year].",
    )
    contracted_share: float = Field(
        _norm("contracted_share"), ge=0, le=1,
        description="Share of available GPU-hours sold on contracts, billed whether used or not [-].",
    )
    contract_price_frac: float = Field(
        _norm("contract_price_frac"), ge=0, le=2,
        description="Contract price as a share of the generation's spot launch price, flat over the term [-].",
    )
    contract_years: float = Field(
        _norm("contract_years"), ge=0, le=10,
        description="Contract term from each generation's installation [years]; afterwards those GPU-hours "
        "sell at spot.",
    )
    ramp_start_frac: float = Field(
        _norm("ramp_start_frac"), ge=0, le=1,
        description="Spot sales in year 1 as a share of steady sales; rises linearly to 1 over ramp_years [-].",
    )
    ramp_years: float = Field(_norm("ramp_years"), ge=0, le=10, description="Years to steady spot sales [years].")
    corporate_tax_rate: float = Field(
        _norm("corporate_tax_rate"), ge=0, le=0.6,
        description="Income tax on taxable profit (EBITDA - depreciation, losses carried forward) [-].",
    )
    it_residual_frac_of_book: float = Field(
        _norm("it_residual_frac_of_book"), ge=0, le=1,
        description="Market value of IT at the horizon end as a share of its straight-line book value [-].",
    )
    refresh_price_factor: float = Field(
        _norm("refresh_price_factor"), gt=0, le=5,
        description="Price of an IT refresh as a share of the first purchase (nominal EUR) [-].",
    )
    debt_share: float = Field(
        _norm("debt_share"), ge=0, le=0.95,
        description="Share of the first-year capex financed by an amortising loan [-].",
    )
    debt_rate: float = Field(_norm("debt_rate"), ge=0, le=0.5, description="Interest rate of that loan [1/year].")
    band_samples: int = Field(
        40, ge=0, le=2000,
        description="Finance draws behind the P10-P90 band of the run's investor table (every norm with a sourced "
        "range varies; accounting only, about 40 ms each); 0: no band.",
    )
    debt_tenor_years: int = Field(
        _norm("debt_tenor_years"), ge=1, le=30, description="Loan term, equal yearly payments (annuity) [years]."
    )

    @property
    def rate(self) -> float:
        """Discount rate in use [1/year]."""
        return self.wacc if self.discount_rate is None else self.discount_rate


class EconomicsConfig(Section):
    currency: Literal["EUR"] = Field("EUR", description="Reporting currency.")
    usd_to_eur: float = Field(0.92, gt=0, description="FX rate for USD catalog prices [EUR/USD].")
    energy_tax_eur_per_mwh: float | None = Field(
        None, ge=0, description="Electricity tax on all consumption [EUR/MWh]; default: the site country's "
        "rate for a large datacenter (site/data/tariffs/<country>.yaml)."
    )
    grid_fee_eur_per_mwh: float | None = Field(
        None, ge=0, description="Grid transmission fee on grid consumption [EUR/MWh]; default: the site "
        "country's tariff file."
    )
    ppa_share: float = Field(0.0, ge=0, le=1, description="Share of consumption covered by a renewable PPA [-].")
    ppa_price_eur_per_mwh: float = Field(45.0, ge=0, description="PPA strike price [EUR/MWh].")
    ppa_matching: Literal["annual", "hourly"] = Field(
        "annual",
        description="'annual': PPA volume = share x annual consumption, all of it counted; 'hourly': a flat "
        "PPA of share x mean load, only the part matched hour by hour counts, surplus sold at spot.",
    )
    ppa_carbon_g_per_kwh: float = Field(0.0, ge=0, description="Emission factor of PPA energy (market-based) [g/kWh].")
    residual_mix_g_per_kwh: float | None = Field(
        None, ge=0, description="Residual mix for unmatched grid energy (market-based) [g/kWh]; default: the grid "
        "zone's (site/data/grid/<zone>.yaml)."
    )
    heat_price_eur_per_mwh: float | None = Field(
        None, ge=0, description="Annual-average price paid for heat delivered [EUR/MWh]; default: the site's "
        "heat-network file (site/data/heat/<profile>.yaml)."
    )
    spot_price_factor: float = Field(
        _norm("spot_price_factor"), gt=0, le=10,
        description="Multiplier on the site's spot price series, for the price level over the horizon [-].",
    )
    heat_price_seasonal: bool = Field(
        False, description="Shape the heat price by month like Borlänge Energi's tariff (same annual mean)."
    )
    capex: CapexConfig = Field(default_factory=CapexConfig)
    opex: OpexConfig = Field(default_factory=OpexConfig)
    finance: FinanceConfig = Field(default_factory=FinanceConfig)
    _from_site: frozenset[str] = PrivateAttr(default_factory=frozenset)  # fields filled from the site's data

    def heat_price_by_month_eur_per_mwh(self) -> list[float]:
        """Heat price for months 1..12 [EUR/MWh]."""
        if not self.heat_price_seasonal:
            return [self.heat_price_eur_per_mwh] * 12
        shape = [float(v) for v in _norm("heat_price_seasonal_ore_per_kwh")]
        mean = sum(shape) / 12.0
        return [self.heat_price_eur_per_mwh * v / mean for v in shape]
