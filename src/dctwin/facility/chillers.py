"""Vapour-compression cooling from EnergyPlus performance curves: air-cooled chillers and DX (CRAC) coils.

Chiller (EnergyPlus Chiller:Electric:EIR, DOE-2 model): available capacity
= design capacity x CAPFT(leaving water, condenser air) / CAPFT(design);
power = load x EIRFT x EIRFPLR(PLR) / COP_ref. DX coil (Coil:Cooling:DX):
power = load x EIRFT(entering wet-bulb, outdoor air) / (COP_ref x PLF(PLR)).
Curve inputs are held to the range they were fitted on, so the COP never
runs away at small lifts (the old Carnot-fraction model reached COP 10).
Curves and sources: ``data/air.yaml`` (``chiller``, ``dx``).
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.params import FacilityParams, packaged_params

__all__ = ["biquadratic", "chiller_capacity_factor", "chiller_cop", "chiller_power_kw", "dx_capacity_factor", "dx_cop"]


def biquadratic(coef, x, y) -> np.ndarray:
    """EnergyPlus Curve:Biquadratic: c0 + c1 x + c2 x² + c3 y + c4 y² + c5 x y [-]."""
    c0, c1, c2, c3, c4, c5 = coef
    return c0 + c1 * x + c2 * x * x + c3 * y + c4 * y * y + c5 * x * y


def _clipped(p: dict, x, y):
    lo, hi = p["x_range"]
    ylo, yhi = p["y_range"]
    return np.clip(np.asarray(x, dtype=float), lo, hi), np.clip(np.asarray(y, dtype=float), ylo, yhi)


def chiller_capacity_factor(leaving_c, condenser_air_c, *, params: FacilityParams | None = None) -> np.ndarray:
    """Available capacity of an air-cooled chiller as a share of its capacity at the rating point [-]."""
    p = (params or packaged_params()).air["chiller"]
    x, y = _clipped(p, leaving_c, condenser_air_c)
    return biquadratic(p["capft"], x, y) / biquadratic(p["capft"], p["ref_leaving_c"], p["ref_condenser_c"])


def chiller_cop(leaving_c, condenser_air_c, part_load=1.0, *, params: FacilityParams | None = None) -> np.ndarray:
    """COP of an air-cooled chiller at leaving water ``leaving_c`` and entering air ``condenser_air_c`` [°C] [-].

    ``part_load`` [0-1] is the load over the available capacity; below the
    minimum part-load ratio the chiller cycles (power per kW as at that ratio).
    """
    p = (params or packaged_params()).air["chiller"]
    x, y = _clipped(p, leaving_c, condenser_air_c)
    plr = np.clip(np.asarray(part_load, dtype=float), p["min_plr"], 1.0)
    a, b, c = p["eirfplr"]
    eir_plr = (a + b * plr + c * plr * plr) / plr  # EIRFPLR is power per full-load power: per kW of load divide by PLR
    return p["ref_cop"] / (biquadratic(p["eirft"], x, y) * eir_plr)


def dx_capacity_factor(outdoor_c, *, params: FacilityParams | None = None) -> np.ndarray:
    """Available capacity of a DX (CRAC) unit as a share of its rated capacity at the outdoor air [°C] [-]."""
    p = (params or packaged_params()).air["dx"]
    x, y = _clipped(p, p["ref_ewb_c"], outdoor_c)
    return biquadratic(p["capft"], x, y) / biquadratic(p["capft"], p["ref_ewb_c"], 35.0)


def dx_cop(outdoor_c, part_load=1.0, *, params: FacilityParams | None = None) -> np.ndarray:
    """COP of a DX (CRAC) unit at outdoor air ``outdoor_c`` [°C] and ``part_load`` [0-1] [-]."""
    p = (params or packaged_params()).air["dx"]
    x, y = _clipped(p, p["ref_ewb_c"], outdoor_c)
    plr = np.clip(np.asarray(part_load, dtype=float), 0.0, 1.0)
    a, b = p["plf"]
    return p["ref_cop"] * (a + b * plr) / biquadratic(p["eirft"], x, y)


def chiller_power_kw(load_kw, capacity_kw, leaving_c, condenser_air_c, rated_kw: float | None = None, *,
                     params: FacilityParams | None = None) -> np.ndarray:
    """Electric power of an air-cooled chiller carrying ``load_kw`` out of an available ``capacity_kw`` [kW].

    Below the minimum part-load ratio of its rating ``rated_kw`` [kW] (default:
    the available capacity) the compressor false-loads: it draws the power of
    that minimum load. Taking the floor from the rating keeps it from shrinking
    in hot air, where the available capacity falls.
    """
    p = (params or packaged_params()).air["chiller"]
    x, y = _clipped(p, leaving_c, condenser_air_c)
    cap = np.asarray(capacity_kw, dtype=float)
    load = np.asarray(load_kw, dtype=float)
    floor = p["min_plr"] * (cap if rated_kw is None else rated_kw)
    eff = np.minimum(np.maximum(load, floor), cap)
    plr = np.divide(eff, cap, out=np.zeros(np.broadcast(eff, cap).shape), where=cap > 0)
    a, b, c = p["eirfplr"]
    power = cap * biquadratic(p["eirft"], x, y) * (a + b * plr + c * plr * plr) / p["ref_cop"]
    return np.where(load > 0, power, 0.0)
