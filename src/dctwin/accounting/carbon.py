"""Scope 2 emissions, location- and market-based (GHG Protocol Scope 2 Guidance, 2015).

Location-based: every MWh at the grid's hourly average intensity. Market-based:
energy covered by contractual instruments (the PPA) at the instrument's factor,
the rest at the residual mix.
"""

from __future__ import annotations

import numpy as np

__all__ = ["emissions_t"]


def emissions_t(
    energy_mwh: np.ndarray,
    carbon_g_per_kwh: np.ndarray,
    ppa_matched_mwh: np.ndarray,
    *,
    residual_mix_g_per_kwh: float,
    ppa_carbon_g_per_kwh: float = 0.0,
) -> dict[str, np.ndarray]:
    """Per-step emissions [tCO2e]: ``location_t`` and ``market_t``.

    energy_mwh: consumption per step [MWh]; carbon_g_per_kwh: grid average
    intensity [g/kWh]; ppa_matched_mwh: energy covered by the PPA [MWh].
    1 MWh at 1 g/kWh is 1 kg, hence the division by 1000 to get tonnes.
    """
    e = np.asarray(energy_mwh, dtype=float)
    c = np.asarray(carbon_g_per_kwh, dtype=float)
    m = np.asarray(ppa_matched_mwh, dtype=float)
    location = e * c / 1000.0
    market = ((e - m) * residual_mix_g_per_kwh + m * ppa_carbon_g_per_kwh) / 1000.0
    return {"location_t": location, "market_t": market}
