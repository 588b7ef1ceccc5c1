"""Facility design: power chain, cooling and heat reuse.

Owned by the facility physics; fields are the knobs a designer turns.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from dctwin.config.base import Section

__all__ = ["CoolingConfig", "FacilityConfig", "HeatReuseConfig", "PowerChainConfig"]


class PowerChainConfig(Section):
    redundancy: Literal["N", "N+1", "2N"] = Field("N+1", description="Redundancy of the UPS and transformer blocks.")
    ups_mode: Literal["double_conversion", "eco"] = Field("eco", description="UPS operating mode.")
    block_size_mw: float = Field(3.0, gt=0, le=100, description="Rating of one UPS/transformer block [MW].")


class CoolingConfig(Section):
    liquid_supply_temp_c: float = Field(45.0, ge=15, le=70, description="Facility-water supply to the CDUs [°C].")
    liquid_delta_t_k: float = Field(10.0, gt=0, le=30, description="Rise across the racks on the liquid loop [K].")
    heat_rejection: Literal["dry_cooler", "adiabatic_dry_cooler", "cooling_tower"] = Field(
        "dry_cooler", description="How heat not sold leaves the site."
    )
    dry_cooler_approach_k: float = Field(10.0, gt=0, le=30, description="Dry-cooler approach to dry-bulb at design "
                                                                        "[K].")
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
    air_supply_temp_c: float = Field(27.0, ge=15, le=35, description="CRAH supply air for the air-cooled share [°C].")
    overload_rule: Literal["throttle", "chillers"] = Field(
        "throttle",
        description="When heat rejection cannot hold the load: 'throttle' caps GPU power, 'chillers' runs chillers.",
    )


class HeatReuseConfig(Section):
    enabled: bool = Field(True, description="Recover heat to district heating.")
    heat_pump_capacity_mw: float = Field(20.0, ge=0, description="Heat-pump heat output capacity [MW].")
    dh_supply_temp_c: float = Field(80.0, ge=30, le=130, description="District-heating supply temperature [°C].")
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
