"""Plant sizing from the design peak: power-chain blocks, liquid loop, air-side cooling.

Rules (each can be overridden in the facility config):

- UPS blocks carry the installed IT power plus its busway loss and the CDU
  pumps at full flow; MV/LV transformers carry the site load
  (``sizing_factor`` x installed IT). With ``block_sizing='fit_to_load'``
  a load needs ``ceil(load / block_size_mw)`` blocks, each rated load / count,
  so a 1 MW hall has 1 MW blocks; redundancy (N, N+1, 2N) adds units.
- Pumps and heat rejecters follow the liquid share of the installed IT heat.
- Air-side chillers or DX units: ``chiller_size_margin`` x the design air-side
  heat (air-cooled racks, UPS and busway losses, fans) at the design ambient,
  read back to the unit's rating point; ``air_cooling_capacity_mw`` overrides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dctwin.config.facility import FacilityConfig
from dctwin.facility import air, chillers, power_chain
from dctwin.facility.capacity import pumps_kw, rejection_design_heat_kw
from dctwin.facility.params import FacilityParams, design_params

__all__ = ["PlantSize", "block_rating_kw", "size_plant"]


@dataclass(frozen=True)
class PlantSize:
    """Ratings of the sized parts [kW] and unit counts."""

    ups_block_kw: float
    ups_units: int
    site_kw: float
    transformer_block_kw: float
    transformer_units: int
    design_room_heat_kw: float    # air-side heat at full IT, before fans
    air_cooling_kw: float         # air-side chillers/DX at their rating point
    rejection_design_kw: float    # heat rejecters (liquid loop) at the design ambient
    liquid_design_kw: float       # liquid heat the pumps are sized for


def block_rating_kw(design_kw: float, max_block_kw: float, sizing: str) -> float:
    """Rating of one block carrying ``design_kw`` [kW] with blocks of at most ``max_block_kw`` [kW]."""
    if sizing == "fixed" or design_kw <= 0:
        return max_block_kw
    return design_kw / max(1, math.ceil(design_kw / max_block_kw - 1e-9))


def _air_cooling_kw(design: FacilityConfig, design_air_heat_kw: float, params: FacilityParams) -> float:
    c = design.cooling
    if c.air_cooling_capacity_mw is not None:
        return c.air_cooling_capacity_mw * 1000.0
    if c.air_cooling == "economiser_only":
        return 0.0
    p = params.air["values"]
    if c.air_cooling == "crac_dx":
        factor = float(chillers.dx_capacity_factor(c.design_ambient_c, params=params))
    else:
        factor = float(chillers.chiller_capacity_factor(c.air_supply_temp_c - p["chilled_water_offset_k"],
                                                        c.design_ambient_c, params=params))
    return p["chiller_size_margin"] * design_air_heat_kw / factor


def size_plant(design: FacilityConfig, installed_it_kw: float, liquid_design_kw: float,
               air_design_kw: float | None = None, *, params: FacilityParams | None = None,
               pressure_pa: float = 101_325.0) -> PlantSize:
    """Size every part of the plant for ``installed_it_kw`` [kW].

    ``liquid_design_kw`` [kW] of it at most is liquid-cooled (pumps, rejecters) and
    ``air_design_kw`` [kW] at most air-cooled (fans, air-side cooling; default the rest). ``params``: the run's
    facility parameters (default: packaged with ``design.model_parameters`` applied); ``pressure_pa`` [Pa] the
    site's air pressure (default sea level): the fans move more air volume in thinner air.
    """
    params = params or design_params(design)
    pc = design.power_chain
    max_block = pc.block_size_mw * 1000.0
    paths = 2 if pc.redundancy == "2N" else 1
    cdu_design, _ = pumps_kw(design, liquid_design_kw, liquid_design_kw, params=params)
    dist_full = float(power_chain.distribution_loss_kw(installed_it_kw, installed_it_kw, paths, params=params))
    ups_design = installed_it_kw + dist_full + float(cdu_design)
    ups_block = block_rating_kw(ups_design, max_block, pc.block_sizing)
    ups_units = power_chain.units_for_redundancy(ups_design, ups_block, pc.redundancy)
    ups_full = float(power_chain.ups_loss_kw(ups_design, ups_block, ups_units, pc.ups_mode, params=params))
    air_it = installed_it_kw - liquid_design_kw if air_design_kw is None else air_design_kw
    room = air_it + dist_full + ups_full
    _, fan_design = air.air_design_flow_kw(room, pressure_pa=pressure_pa, params=params)
    site_kw = installed_it_kw * params.power_chain["stages"]["transformer"]["sizing_factor"]
    tx_block = block_rating_kw(site_kw, max_block, pc.block_sizing)
    return PlantSize(
        ups_block_kw=ups_block, ups_units=ups_units, site_kw=site_kw, transformer_block_kw=tx_block,
        transformer_units=power_chain.units_for_redundancy(site_kw, tx_block, pc.redundancy),
        design_room_heat_kw=room, air_cooling_kw=_air_cooling_kw(design, room + fan_design, params),
        rejection_design_kw=rejection_design_heat_kw(design, liquid_design_kw, params=params),
        liquid_design_kw=liquid_design_kw,
    )
