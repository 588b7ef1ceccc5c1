"""The twin's physics reduced to the coefficients of a linear design model.

One year of the site's own series (``dctwin.site.site_series``) and one run
of the facility physics (``dctwin.facility.simulate_facility``) at a
reference load give: the facility overhead per IT kW (mean and peak),
dry-cooler capacity factors by temperature bin (``rejection_capacity_kw``),
the heat-pump COP by month (``heat_pump_cop``), the heat the network takes by
month, and price and carbon by month. Everything else in the planner is
linear in these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.datafile import read_data_yaml, read_sources, sourced_value
from dctwin.facility import (
    heat_pump_cop,
    load_params,
    rejection_capacity_kw,
    rejection_design_heat_kw,
    simulate_facility,
)
from dctwin.site import site_series
from dctwin.timeline import Timeline

__all__ = ["SiteModel", "build_site_model", "planner_params"]

REF_IT_KW = 10_000.0


@lru_cache(maxsize=1)
def planner_params() -> dict:
    """``plan/data/planner.yaml`` values by name."""
    path = Path(str(resources.files("dctwin.plan") / "data" / "planner.yaml"))
    doc = read_data_yaml(path, "planner data file")
    sources = read_sources(doc, str(path))
    return {k: sourced_value(v, f"values.{k}", sources, str(path), shape="any")[0] for k, v in doc["values"].items()}


@dataclass(frozen=True)
class SiteModel:
    """Coefficients of the linear design model (per MW of IT unless stated)."""

    hours_m: np.ndarray               # hours in each month [h]
    price_m: np.ndarray               # mean spot price by month [EUR/MWh]
    carbon_m: np.ndarray              # mean grid intensity by month [g/kWh]
    heat_cap_mwh_m: np.ndarray        # heat the DH network takes by month, capped at the offtake [MWh]
    cop_m: np.ndarray                 # heat-pump COP by month [-]
    overhead_by_lf: dict              # liquid fraction -> (mean, peak) facility overhead per IT kW [-]
    bin_hours: np.ndarray             # hours in each dry-bulb bin [h]
    bin_cf: np.ndarray                # dry-cooler capacity / rated capacity in each bin [-]
    pump_heat_frac: float             # design pump-heat allowance on the rejecters [-]
    price_mean: float                 # flat-load mean spot price [EUR/MWh]


def _pump_heat_frac(design) -> float:
    """Pump heat the rejecters are sized for, per kW of IT heat, from the facility model [-]."""
    try:
        return float(rejection_design_heat_kw(design, REF_IT_KW)) / REF_IT_KW - 1.0
    except TypeError:  # older one-argument form
        return float(rejection_design_heat_kw(REF_IT_KW)) / REF_IT_KW - 1.0


def _series(scenario: Scenario) -> pd.DataFrame:
    start = dt.date(scenario.simulation.start.year, 1, 1)
    tl = Timeline(start=start, step_s=3600, n_steps=8760)
    df = site_series(scenario.site, tl, scenario.simulation.seed)
    df["timestamp"] = tl.timestamps
    return df


@lru_cache(maxsize=8)
def _cached(scenario_json: str) -> SiteModel:
    scenario = Scenario.model_validate_json(scenario_json)
    return _build(scenario)


def build_site_model(scenario: Scenario) -> SiteModel:
    """Coefficients for ``scenario``'s site and facility design (cached per scenario)."""
    return _cached(scenario.model_dump_json())


def _build(scenario: Scenario) -> SiteModel:
    df = _series(scenario)
    month = df["timestamp"].dt.month.to_numpy()
    idx = month - 1
    hours_m = np.bincount(idx, minlength=12).astype(float)

    def mean_m(x):
        return np.bincount(idx, weights=x, minlength=12) / hours_m

    price = df["price_eur_per_mwh"].to_numpy(float)
    carbon = df["carbon_g_per_kwh"].to_numpy(float)
    cap_mw = scenario.site.heat_demand.offtake_cap_mw
    heat = np.minimum(df["heat_demand_mw"].to_numpy(float), cap_mw)
    fac = scenario.facility
    supply = fac.cooling.liquid_supply_temp_c
    offset = load_params("heat_reuse")["values"]["source_offset_k"]
    cop = heat_pump_cop(supply + offset, df["dh_supply_temp_c"].to_numpy(float), fac.heat_reuse.carnot_fraction)

    # facility overhead per IT kW at a reference site, heat reuse off (the LP adds it)
    design = fac.model_copy(update={"heat_reuse": fac.heat_reuse.model_copy(update={"enabled": False})})
    load = scenario.workload.training.share_of_gpus * scenario.workload.training.mean_utilisation + \
        (1 - scenario.workload.training.share_of_gpus) * planner_params()["inference_load_frac"]
    overhead = {}
    for lf in (1.0, 0.85, 0.0):
        outs = []
        for frac in (max(load, 0.05), 1.0):
            r = simulate_facility(design, np.full(len(df), REF_IT_KW * frac), lf, df["dry_bulb_c"].to_numpy(float),
                                  df["wet_bulb_c"].to_numpy(float), df["rel_humidity_pct"].to_numpy(float),
                                  np.zeros(len(df)), None, REF_IT_KW, 3600,
                                  air_pressure_pa=float(df["air_pressure_pa"].iloc[0]))
            overhead_kw = r.grid_power_kw - r.it_power_kw - r.heat_pump_kw - r.liquid_chiller_kw
            o = overhead_kw / np.maximum(r.it_power_kw, 1e-9)
            outs.append(o)
        overhead[lf] = (float(outs[0].mean()), float(outs[1].max()))

    # dry-cooler capacity factor by 1 K dry-bulb bin (rated at the design ambient)
    db = df["dry_bulb_c"].to_numpy(float)
    edges = np.arange(np.floor(db.min()), np.ceil(db.max()) + 1.0, 1.0)
    b = np.clip(np.digitize(db, edges) - 1, 0, len(edges) - 2) if len(edges) > 1 else np.zeros(len(db), int)
    bin_hours = np.bincount(b, minlength=max(len(edges) - 1, 1)).astype(float)
    bin_top = edges[1:] if len(edges) > 1 else np.array([db.max()])
    ret = supply + fac.cooling.liquid_delta_t_k
    cf = rejection_capacity_kw(1.0, bin_top, ret, fac.cooling.design_ambient_c)
    keep = bin_hours > 0

    return SiteModel(hours_m=hours_m, price_m=mean_m(price), carbon_m=mean_m(carbon),
                     heat_cap_mwh_m=np.bincount(idx, weights=heat, minlength=12), cop_m=mean_m(cop),
                     overhead_by_lf=overhead, bin_hours=bin_hours[keep], bin_cf=np.asarray(cf)[keep],
                     pump_heat_frac=_pump_heat_frac(fac), price_mean=float(price.mean()))
