"""Facility design: power chain, cooling and heat reuse.

Owned by the facility physics; fields are the knobs a designer turns.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from dctwin.config.base import Section

__all__ = ["CoolingConfig", "FacilityConfig", "HeatReuseConfig", "PowerChainConfig"]


class PowerChainConfig(Section):
    redundancy: Literal["N", "N+1", "2N"] = Field("N+1", description="Redundancy of the UPS and transformer blocks.")
    ups_mode: Literal["double_conversion", "eco"] = Field("eco", description="UPS operating mode.")
    block_size_mw: float = Field(3.0, ge=0.01, le=100, description="Largest UPS/transformer block [MW].")
    block_sizing: Literal["fit_to_load", "fixed"] = Field(
        "fit_to_load",
        description="'fit_to_load': as many blocks as the design load needs, each rated load / count (a 1 MW hall gets "
        "1 MW blocks); 'fixed': every block is block_size_mw.",
    )


class CoolingConfig(Section):
    liquid_supply_temp_c: float = Field(45.0, ge=15, le=70, description="Facility-water supply to the CDUs [°C].")
    liquid_delta_t_k: float = Field(10.0, gt=0, le=30, description="Rise across the racks on the liquid loop [K].")
    heat_rejection: Literal["dry_cooler", "adiabatic_dry_cooler", "cooling_tower"] = Field(
        "dry_cooler", description="How heat not sold leaves the site."
    )
    dry_cooler_approach_k: float | None = Field(
        None, gt=0, le=30, description="Dry-cooler approach to dry-bulb at design [K]: liquid_supply_temp_c minus "
        "design_ambient_c, which size the dry coolers; null: that difference. A value set must equal it (a check "
        "of the design, not a second setting: change design_ambient_c to change the approach).")
    design_ambient_c: float = Field(
        35.0,
        ge=-10,
        le=55,
        description=(
            "Dry-bulb at which the dry coolers reject the full installed IT heat at the liquid supply temperature "
            "[°C]. "
            "Default 35 °C = 45 °C supply minus the 10 K median approach (dossier §3a, §4; MDPI Energies 16(9):3661), "
            "above Borlänge's 33.4 °C record."
        ),
    )
    chiller_capacity_mw: float = Field(0.0, ge=0, description="Installed trim-chiller capacity [MW of heat].")
    air_supply_temp_c: float = Field(27.0, ge=5, le=45, description="Supply air for the air-cooled share [°C].")
    air_envelope: Literal["recommended", "A1", "A2", "A3", "A4"] = Field(
        "recommended", description="ASHRAE TC 9.9 envelope the supply air keeps to (temperature, dew point, RH)."
    )
    air_cooling: Literal["crah_chiller", "crac_dx", "economiser_only"] = Field(
        "crah_chiller",
        description="Mechanical cooling of the air side: CRAH coils on air-cooled chillers, CRAC units with DX "
        "compressors, or none (economiser only; heat it cannot carry is reported as a shortfall).",
    )
    air_economiser: Literal["none", "indirect_air", "direct_air", "water_side"] = Field(
        "indirect_air", description="Air-side free cooling: none, indirect air-to-air, direct outdoor air, or a "
        "water-side economiser pre-cooling the chilled water (CRAH only).",
    )
    air_cooling_capacity_mw: float | None = Field(
        None, ge=0, description="Air-side chiller/DX capacity at its rating point [MW of heat]; default: sized from "
        "the design peak (1.1 x design air-side heat at the design ambient)."
    )
    design_liquid_fraction: float | None = Field(
        None, ge=0, le=1, description="Liquid share of the installed IT heat the liquid loop (pumps, dry coolers) is "
        "sized for [0-1]; default: the racks' own liquid share."
    )
    overload_rule: Literal["throttle", "chillers"] = Field(
        "throttle",
        description="When heat rejection cannot hold the load: 'throttle' caps GPU power, 'chillers' runs chillers.",
    )


    @model_validator(mode="after")
    def _approach_is_the_design(self):
        implied_k = self.liquid_supply_temp_c - self.design_ambient_c
        if self.dry_cooler_approach_k is not None and abs(self.dry_cooler_approach_k - implied_k) > 1e-9:
            raise ValueError(f"dry_cooler_approach_k {self.dry_cooler_approach_k:g} K is not the design's approach: "
                             f"the dry coolers are sized to reject the full heat at design_ambient_c "
                             f"{self.design_ambient_c:g} °C with liquid_supply_temp_c {self.liquid_supply_temp_c:g} °C "
                             f"({implied_k:g} K); set design_ambient_c to {self.liquid_supply_temp_c:g} - approach, "
                             "or leave dry_cooler_approach_k out")
        return self

    @model_validator(mode="after")
    def _air_side_fits(self):
        from dctwin.facility.params import load_params  # the envelope limits are sourced data

        lo, hi = load_params("air")["envelopes"][self.air_envelope][:2]
        if not lo <= self.air_supply_temp_c <= hi:
            raise ValueError(f"air_supply_temp_c ({self.air_supply_temp_c} °C) lies outside the ASHRAE "
                             f"{self.air_envelope} envelope ({lo}-{hi} °C)")
        if self.air_economiser == "water_side" and self.air_cooling != "crah_chiller":
            raise ValueError("air_economiser 'water_side' pre-cools chilled water: it needs air_cooling 'crah_chiller'")
        if self.air_cooling == "economiser_only" and self.air_cooling_capacity_mw:  # no machine runs to use it
            raise ValueError(f"air_cooling_capacity_mw {self.air_cooling_capacity_mw:g} MW is not used with "
                             "air_cooling 'economiser_only' (no chillers or DX units); leave it out, or choose "
                             "'crah_chiller' or 'crac_dx'")
        return self


class HeatReuseConfig(Section):
    enabled: bool = Field(True, description="Recover heat to district heating.")
    heat_pump_capacity_mw: float = Field(20.0, ge=0, description="Heat-pump heat output capacity [MW].")
    dispatch: Literal["economic", "always"] = Field(
        "economic",
        description="'economic': heat pumps run only in steps where the heat they sell is worth more than their "
        "electricity (heat price x COP > electricity price with tax and grid fee); heat that needs no lift always "
        "goes; 'always': whenever the network takes heat.",
    )
    dh_supply_temp_c: float | None = Field(
        None, ge=30, le=130, description="Constant district-heating supply temperature [°C]; set, it replaces the "
        "site network's curve against outdoor temperature (e.g. 30-50 °C for a low-temperature network); unset: "
        "the site's curve (site.heat_demand)."
    )
    carnot_fraction: float = Field(0.5, gt=0, le=1, description=(
            "Heat-pump COP as a fraction of the Carnot COP; 0.5 with 7.8 K exchanger approaches reproduces the "
            "LiU COPs 5.5/4.3/3.5 from a 45 °C source to 60/70/80 °C (ecp.ep.liu.se/index.php/sims/article/view/747)."
        ),
    )


class FacilityConfig(Section):
    power_chain: PowerChainConfig = Field(default_factory=PowerChainConfig)
    cooling: CoolingConfig = Field(default_factory=CoolingConfig)
    heat_reuse: HeatReuseConfig = Field(default_factory=HeatReuseConfig)
    model_parameters: dict[str, float | list[float]] = Field(default_factory=dict, description=(
        "Overrides of packaged facility model parameters, keyed FILE.PATH.KEY as in facility/data/FILE.yaml "
        "(e.g. cooling.values.dry_cooler_fan_kw_per_kw); written by `dctwin calibrate`."))

    @field_validator("model_parameters")
    @classmethod
    def _known_parameters(cls, overrides: dict) -> dict:
        from dctwin.errors import InputError
        from dctwin.facility.params import validate_overrides

        try:
            validate_overrides(overrides)
        except InputError as exc:
            raise ValueError(f"{exc.field}: {exc.problem}") from None
        return overrides
