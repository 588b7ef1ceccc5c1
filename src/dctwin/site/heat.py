"""District-heating demand the network could take from the site, and its supply temperature.

Degree-hour model (parameters in ``site/data/heat/<id>.yaml``):

    network_mw     = base_load_mw + slope_mw_per_k * max(0, balance_temp_c - T_out)
    room_mw        = max(0, network_mw - must_run_mw)
    heat_demand_mw = min(offtake_cap_mw, site_share * room_mw)

``must_run_mw`` is the heat the network takes first from sources that run
anyway (waste incineration, industrial waste heat, CHP heat that comes with
power): in summer they often cover the whole load and the datacenter can sell
nothing.

Supply temperature: a linear control curve in outdoor temperature, from
``supply_temp_min_c`` at ``supply_curve_warm_c`` and above to
``supply_temp_max_c`` at ``supply_curve_cold_c`` and below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.site.profiles import Profile, load_profile

__all__ = ["dh_supply_temp_c", "heat_demand", "heat_price_factor"]


def _profile(profile: str | Profile) -> Profile:
    return load_profile("heat", profile) if isinstance(profile, str) else profile


def dh_supply_temp_c(profile: Profile, outdoor_c) -> np.ndarray:
    """Network supply temperature [°C] at outdoor dry bulb ``outdoor_c`` [°C]; ``profile``: the loaded heat data
    file (``load_profile("heat", id)``)."""
    p = profile
    t = np.asarray(outdoor_c, dtype=float)
    warm, cold = float(p["supply_curve_warm_c"]), float(p["supply_curve_cold_c"])
    lo, hi = float(p["supply_temp_min_c"]), float(p["supply_temp_max_c"])
    frac = np.clip((warm - t) / (warm - cold), 0.0, 1.0)
    return lo + (hi - lo) * frac


def heat_demand(profile: Profile, weather_dry_bulb_c, timestamps, offtake_cap_mw: float) -> pd.DataFrame:
    """Hourly (or per-step) heat the network could take from the site.

    ``weather_dry_bulb_c`` outdoor temperature [°C]; ``timestamps`` matching
    times (used for the row index only, the model is static in temperature);
    ``offtake_cap_mw`` most the network takes from the site [MW]; ``profile``: the loaded heat data file.
    Returns ``heat_demand_mw`` [MW] (0..cap) and ``dh_supply_temp_c`` [°C].
    """
    if not np.isfinite(offtake_cap_mw) or offtake_cap_mw < 0:
        raise InputError(
            "offtake cap must be a finite number >= 0", field="heat_demand.offtake_cap_mw", value=offtake_cap_mw
        )
    p = profile
    t = np.asarray(weather_dry_bulb_c, dtype=float)
    network = float(p["base_load_mw"]) + float(p["slope_mw_per_k"]) * np.maximum(0.0, float(p["balance_temp_c"]) - t)
    room = np.maximum(0.0, network - float(p["must_run_mw"]))
    demand = np.minimum(float(offtake_cap_mw), float(p["site_share"]) * room)
    index = pd.RangeIndex(t.size) if timestamps is None else pd.Index(timestamps)
    return pd.DataFrame({"heat_demand_mw": demand, "dh_supply_temp_c": dh_supply_temp_c(p, t)}, index=index)


def heat_price_factor(profile: str | Profile, months) -> np.ndarray:
    """Seasonal value of recovered heat relative to its annual (month-weighted) mean, by month 1..12 [-]."""
    p = _profile(profile)
    key = "energy_price_ore_per_kwh" if "energy_price_ore_per_kwh" in p else "energy_price_shape_by_month"
    prices = np.asarray(p[key], dtype=float)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    return prices[np.asarray(months, dtype=np.int64) - 1] / (np.sum(prices * days) / days.sum())
