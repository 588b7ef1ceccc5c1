"""Electricity bought, priced hour by hour: spot, renewable PPA, energy tax and grid fees.

All inputs are per-step arrays; all outputs are per-step arrays, so monthly and
annual figures are plain sums.
"""

from __future__ import annotations

import numpy as np

from dctwin.errors import InputError

__all__ = ["energy_flows"]


def energy_flows(
    grid_power_kw: np.ndarray,
    price_eur_per_mwh: np.ndarray,
    step_h: float,
    *,
    ppa_share: float = 0.0,
    ppa_price_eur_per_mwh: float = 0.0,
    ppa_matching: str = "annual",
    energy_tax_eur_per_mwh: float = 0.0,
    grid_fee_eur_per_mwh: float = 0.0,
) -> dict[str, np.ndarray]:
    """Energy and its cost in each step.

    grid_power_kw: site consumption from the grid [kW]; price_eur_per_mwh: spot
    price [EUR/MWh]; step_h: step length [h].

    PPA ``'annual'``: the PPA covers ``ppa_share`` of every step's energy at the
    strike price (annual volume matching with certificates). ``'hourly'``: the
    PPA delivers a flat ``ppa_share x mean load`` [kW]; only what the load uses
    in that step counts as matched, the surplus is paid at the strike price and
    sold back at spot. Tax and grid fee apply to all energy consumed.

    Returns arrays [MWh] ``energy_mwh``, ``spot_mwh``, ``ppa_matched_mwh``,
    ``ppa_surplus_mwh`` and [EUR] ``spot_cost_eur``, ``ppa_cost_eur``,
    ``ppa_surplus_credit_eur`` (negative), ``energy_tax_eur``, ``grid_fee_eur``,
    ``energy_cost_eur`` (their sum).
    """
    p = np.asarray(grid_power_kw, dtype=float)
    price = np.asarray(price_eur_per_mwh, dtype=float)
    if p.shape != price.shape:
        raise InputError("grid_power_kw and price_eur_per_mwh must have the same length",
                         field="price_eur_per_mwh", value=(p.shape, price.shape))
    if not 0.0 <= ppa_share <= 1.0:
        raise InputError("PPA share out of range", field="economics.ppa_share", value=ppa_share, allowed="0 to 1")
    energy = p * step_h / 1000.0
    if ppa_matching == "annual":
        matched = ppa_share * energy
        surplus = np.zeros_like(energy)
    elif ppa_matching == "hourly":
        ppa_kw = ppa_share * (float(p.mean()) if p.size else 0.0)
        matched = np.minimum(ppa_kw, np.maximum(p, 0.0)) * step_h / 1000.0
        surplus = ppa_kw * step_h / 1000.0 - matched
    else:
        raise InputError("unknown PPA matching", field="economics.ppa_matching", value=ppa_matching,
                         allowed="annual, hourly")
    spot = energy - matched
    out = {
        "energy_mwh": energy,
        "spot_mwh": spot,
        "ppa_matched_mwh": matched,
        "ppa_surplus_mwh": surplus,
        "spot_cost_eur": spot * price,
        "ppa_cost_eur": (matched + surplus) * ppa_price_eur_per_mwh,
        "ppa_surplus_credit_eur": -surplus * price,
        "energy_tax_eur": energy * energy_tax_eur_per_mwh,
        "grid_fee_eur": energy * grid_fee_eur_per_mwh,
    }
    out["energy_cost_eur"] = (out["spot_cost_eur"] + out["ppa_cost_eur"] + out["ppa_surplus_credit_eur"]
                              + out["energy_tax_eur"] + out["grid_fee_eur"])
    return out
