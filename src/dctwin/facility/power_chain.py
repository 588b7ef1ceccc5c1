"""Power-chain losses: utility transformer, MV switchgear, MV/LV transformers, UPS, busway/PDU, rack power shelves.

Every stage uses the same loss model per unit (Rasmussen, Schneider Electric
WP 113): ``loss = rating * (no_load + linear * x + load * x**2)`` with
``x = load / rating``; identical units share the load equally. Redundancy
(N, N+1, 2N) sets how many units share it, so more redundancy means lighter
loading and a larger share of no-load loss. Coefficients and their sources
are in ``data/power_chain.yaml``; the UPS coefficients are a least-squares fit
of the manufacturer efficiency points.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from dctwin.errors import InputError
from dctwin.facility.params import FacilityParams, packaged_params

__all__ = [
    "distribution_loss_kw",
    "fit_loss_coefficients",
    "inner_chain_losses_kw",
    "power_shelf_loss_kw",
    "stage_loss_kw",
    "switchgear_loss_kw",
    "transformer_loss_kw",
    "units_for_redundancy",
    "ups_coefficients",
    "ups_loss_kw",
    "upstream_losses_kw",
    "utility_transformer_loss_kw",
]

_REDUNDANCY = ("N", "N+1", "2N")


def units_for_redundancy(design_kw: float, unit_kw: float, redundancy: str) -> int:
    """Units installed to carry ``design_kw`` [kW] with units of ``unit_kw`` [kW] under N, N+1 or 2N."""
    if redundancy not in _REDUNDANCY:
        raise InputError("unknown redundancy", field="facility.power_chain.redundancy", value=redundancy,
                         allowed=", ".join(_REDUNDANCY))
    if unit_kw <= 0:
        raise InputError("unit rating must be > 0", field="facility.power_chain.block_size_mw", value=unit_kw)
    n = max(1, math.ceil(design_kw / unit_kw - 1e-9))
    return {"N": n, "N+1": n + 1, "2N": 2 * n}[redundancy]


def stage_loss_kw(load_kw, rating_kw: float, n_units: int, no_load: float, linear: float, load: float) -> np.ndarray:
    """Loss of ``n_units`` identical units of ``rating_kw`` [kW] sharing ``load_kw`` [kW] equally [kW].

    ``no_load``, ``linear`` and ``load`` are the loss at rated load as fractions
    of the rating for the constant, proportional and square-law terms.
    """
    x = np.asarray(load_kw, dtype=float) / (n_units * rating_kw)
    return n_units * rating_kw * (no_load + linear * x + load * x * x)


def fit_loss_coefficients(load_fracs, efficiencies) -> tuple[float, float, float]:
    """Least-squares (no_load, linear, load) of the loss model from efficiency points [-] at output loads [-]."""
    x = np.asarray(load_fracs, dtype=float)
    eta = np.asarray(efficiencies, dtype=float)
    loss = x * (1.0 / eta - 1.0)  # loss per unit rating at each point
    design = np.column_stack([np.ones_like(x), x, x * x])
    coef, *_ = np.linalg.lstsq(design, loss, rcond=None)
    return float(coef[0]), float(coef[1]), float(coef[2])


def ups_coefficients(mode: str, *, params: FacilityParams | None = None) -> tuple[float, float, float]:
    """UPS loss coefficients (no_load, linear, load) for ``mode`` in {double_conversion, eco}."""
    ups = (params or packaged_params()).power_chain["ups"]
    key = {"double_conversion": "double_conversion_eff", "eco": "eco_eff"}.get(mode)
    if key is None:
        raise InputError("unknown UPS mode", field="facility.power_chain.ups_mode", value=mode,
                         allowed="double_conversion, eco")
    return _fitted_loss(tuple(ups["load_points"]), tuple(ups[key]))


@lru_cache(maxsize=16)
def _fitted_loss(load_points: tuple[float, ...], efficiencies: tuple[float, ...]) -> tuple[float, float, float]:
    return fit_loss_coefficients(load_points, efficiencies)


def _stage(name: str, params: FacilityParams | None):
    return (params or packaged_params()).power_chain["stages"][name]


def ups_loss_kw(output_kw, rating_kw: float, n_units: int, mode: str,
                *, params: FacilityParams | None = None) -> np.ndarray:
    """UPS loss at ``output_kw`` [kW] shared by ``n_units`` of ``rating_kw`` [kW] in ``mode`` [kW]."""
    return stage_loss_kw(output_kw, rating_kw, n_units, *ups_coefficients(mode, params=params))


def _named_loss(name: str, load_kw, rating_kw: float, n_units: int, params: FacilityParams | None) -> np.ndarray:
    s = _stage(name, params)
    return stage_loss_kw(load_kw, rating_kw, n_units, s["no_load"], s["linear"], s["load"])


def utility_transformer_loss_kw(load_kw, rating_kw: float, n_units: int,
                                *, params: FacilityParams | None = None) -> np.ndarray:
    """HV/MV grid-connection transformer losses at the EU 548/2014 Tier 2 minimum PEI [kW]."""
    return _named_loss("utility_transformer", load_kw, rating_kw, n_units, params)


def transformer_loss_kw(load_kw, rating_kw: float, n_units: int, *, params: FacilityParams | None = None) -> np.ndarray:
    """MV/LV transformer no-load plus load losses per EU 548/2014 Tier 2 [kW]."""
    return _named_loss("transformer", load_kw, rating_kw, n_units, params)


def switchgear_loss_kw(load_kw, rating_kw: float, n_units: int, *, params: FacilityParams | None = None) -> np.ndarray:
    """Medium-voltage switchgear and cable I²R loss [kW]."""
    return _named_loss("switchgear", load_kw, rating_kw, n_units, params)


def distribution_loss_kw(load_kw, rating_kw: float, n_units: int,
                         *, params: FacilityParams | None = None) -> np.ndarray:
    """Busway and rack PDU I²R loss [kW]."""
    return _named_loss("distribution", load_kw, rating_kw, n_units, params)


def power_shelf_loss_kw(it_power_kw, installed_it_kw: float, *, params: FacilityParams | None = None) -> np.ndarray:
    """Loss inside the rack power shelves (80 PLUS Titanium curve) [kW]; part of the IT power, not added to it.

    Each PSU carries ``load_fraction_at_max`` of its rating when the racks draw
    their installed maximum; the efficiency is interpolated on the curve.
    """
    p = (params or packaged_params()).power_chain
    frac_at_max = p["stages"]["power_shelf"]["load_fraction_at_max"]
    curve = p["power_shelf_curve"]
    it = np.asarray(it_power_kw, dtype=float)
    x = it / max(installed_it_kw, 1e-9) * frac_at_max
    eta = np.interp(x, curve["load_points"], curve["efficiency"])
    return it * (1.0 - eta)


def inner_chain_losses_kw(it_kw, cdu_kw, installed_it_kw: float, block_kw: float, n_units: int, redundancy: str,
                          ups_mode: str, *, params: FacilityParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(busway/PDU loss, UPS loss) [kW]: ``n_units`` UPS blocks of ``block_kw`` [kW] carry IT, busway loss, CDUs."""
    paths = 2 if redundancy == "2N" else 1
    dist_loss = distribution_loss_kw(it_kw, installed_it_kw, paths, params=params)
    return dist_loss, ups_loss_kw(it_kw + dist_loss + cdu_kw, block_kw, n_units, ups_mode, params=params)


def upstream_losses_kw(lv_load_kw, site_kw: float, block_kw: float, n_tx: int,
                       redundancy: str,
                       *, params: FacilityParams | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(MV/LV transformer, MV switchgear, utility transformer) losses [kW] carrying ``lv_load_kw`` [kW] to the grid.

    ``n_tx`` MV/LV transformers of ``block_kw`` [kW]; switchgear and the utility
    transformer are rated for the site load ``site_kw`` [kW].
    """
    paths = 2 if redundancy == "2N" else 1
    tx_loss = transformer_loss_kw(lv_load_kw, block_kw, n_tx, params=params)
    swgr_loss = switchgear_loss_kw(lv_load_kw + tx_loss, site_kw, paths, params=params)
    n_utx = units_for_redundancy(site_kw, site_kw, redundancy)
    utx_loss = utility_transformer_loss_kw(lv_load_kw + tx_loss + swgr_loss, site_kw, n_utx, params=params)
    return tx_loss, swgr_loss, utx_loss
