"""Electricity bought, priced hour by hour: spot, renewable PPA, energy tax and grid fees.

All inputs are per-step arrays; all outputs are per-step arrays, so monthly and
annual figures are plain sums.
"""

from __future__ import annotations

import numpy as np

from dctwin.errors import InputError

__all__ = ["FLOWS", "energy_costs", "energy_flows", "energy_quantities"]


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
    q = energy_quantities(grid_power_kw, step_h, ppa_share=ppa_share, ppa_price_eur_per_mwh=ppa_price_eur_per_mwh,
                          ppa_matching=ppa_matching, energy_tax_eur_per_mwh=energy_tax_eur_per_mwh,
                          grid_fee_eur_per_mwh=grid_fee_eur_per_mwh)
    return _ordered({**q, **energy_costs(q, price_eur_per_mwh)})


FLOWS = ("energy_mwh", "spot_mwh", "ppa_matched_mwh", "ppa_surplus_mwh", "spot_cost_eur", "ppa_cost_eur",
         "ppa_surplus_credit_eur", "energy_tax_eur", "grid_fee_eur", "energy_cost_eur")  # their column order


def _ordered(flows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: flows[k] for k in FLOWS}


def energy_quantities(grid_power_kw: np.ndarray, step_h: float, *, ppa_share: float, ppa_price_eur_per_mwh: float,
                      ppa_matching: str, energy_tax_eur_per_mwh: float,
                      grid_fee_eur_per_mwh: float) -> dict[str, np.ndarray]:
    """The part of ``energy_flows`` the spot price does not enter: energy [MWh] and the PPA, tax and fee
    costs [EUR] per step (the investor band computes it once for all its spot price draws)."""
    p = np.asarray(grid_power_kw, dtype=float)
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
    return {
        "energy_mwh": energy,
        "spot_mwh": energy - matched,
        "ppa_matched_mwh": matched,
        "ppa_surplus_mwh": surplus,
        "ppa_cost_eur": (matched + surplus) * ppa_price_eur_per_mwh,
        "energy_tax_eur": energy * energy_tax_eur_per_mwh,
        "grid_fee_eur": energy * grid_fee_eur_per_mwh,
    }


def energy_costs(quantities: dict[str, np.ndarray], price_eur_per_mwh: np.ndarray) -> dict[str, np.ndarray]:
    """The spot-priced part of ``energy_flows``: spot cost, the PPA surplus sold back and the total [EUR]."""
    q = quantities
    price = np.asarray(price_eur_per_mwh, dtype=float)
    if q["energy_mwh"].shape != price.shape:
        raise InputError("grid_power_kw and price_eur_per_mwh must have the same length",
                         field="price_eur_per_mwh", value=(q["energy_mwh"].shape, price.shape))
    spot_cost = q["spot_mwh"] * price
    credit = -q["ppa_surplus_mwh"] * price
    total = spot_cost + q["ppa_cost_eur"] + credit + q["energy_tax_eur"] + q["grid_fee_eur"]
    return {"spot_cost_eur": spot_cost, "ppa_surplus_credit_eur": credit, "energy_cost_eur": total}
