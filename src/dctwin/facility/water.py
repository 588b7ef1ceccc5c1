"""Water use of evaporative heat rejection, for WUE per ISO/IEC 30134-9.

Adiabatic pads: water evaporated = air mass flow x cp x (dry-bulb - pad
outlet) / latent heat. Open cooling towers: evaporation = latent fraction x
heat / latent heat, plus blowdown = evaporation / (cycles - 1).
Parameters and sources: ``data/water.yaml``, ``data/cooling.yaml``.
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.params import FacilityParams, packaged_params

__all__ = ["adiabatic_water_l_per_h", "tower_water_l_per_h"]


def adiabatic_water_l_per_h(air_flow_kg_s, dry_bulb_c, pad_outlet_c,
                            *, params: FacilityParams | None = None) -> np.ndarray:
    """Water evaporated by adiabatic pads cooling ``air_flow_kg_s`` [kg/s] from dry-bulb to pad outlet [°C] [L/h]."""
    c = (params or packaged_params()).cooling["values"]
    drop = np.maximum(np.asarray(dry_bulb_c, dtype=float) - np.asarray(pad_outlet_c, dtype=float), 0.0)
    kg_s = np.asarray(air_flow_kg_s, dtype=float) * c["air_cp_kj_per_kg_k"] * drop / c["water_latent_kj_per_kg"]
    return kg_s * 3600.0  # 1 kg of water = 1 L


def tower_water_l_per_h(heat_kw, *, params: FacilityParams | None = None) -> np.ndarray:
    """Make-up water of an open cooling tower rejecting ``heat_kw`` [kW]: evaporation plus blowdown [L/h]."""
    params = params or packaged_params()
    w = params.water["values"]
    latent = params.cooling["values"]["water_latent_kj_per_kg"]
    evap_kg_s = w["tower_latent_fraction"] * np.asarray(heat_kw, dtype=float) / latent
    blowdown_kg_s = evap_kg_s / (w["tower_cycles_of_concentration"] - 1.0)
    return (evap_kg_s + blowdown_kg_s) * 3600.0
