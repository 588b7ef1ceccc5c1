"""The investor section at the top of a run's report: the answer first, then the yearly cash flows.

NPV, IRR, payback and the unit costs (per GPU-hour and per million tokens),
each with the P10-P90 band of the run's ``investor`` table (finance inputs
drawn over their sourced ranges; see ``dctwin.accounting.band``), then the
yearly cash-flow table (``cash_flows``).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dctwin.report.data import Missing, RunData
from dctwin.results.schema import lookup

__all__ = ["investor_context"]

CASH_ROWS = ("capex_facility_eur", "capex_it_eur", "capex_it_refresh_eur", "compute_revenue_eur", "heat_revenue_eur",
             "energy_eur", "staff_eur", "insurance_eur", "maintenance_eur", "tax_eur", "residual_value_eur",
             "project_cash_flow_eur", "cumulative_project_eur", "pv_project_eur", "spot_price_eur_per_gpu_hour")
COSTS_INCLUDE = ("Costs per GPU-hour and per million tokens carry the whole cost of the site over the horizon: capex, "
                 "IT refresh, energy, staff, insurance, maintenance and cost of capital, less heat sold and residual "
                 "value; tokens carry the inference share of it by busy GPU-hours. They exclude sales, software "
                 "licences, model development and margin.")


def _fmt(key: str, v: Any) -> str:
    f = lookup(key, "kpis")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "not within horizon"
    return f.format(v) if f else f"{v:,.4g}"


def _label(key: str) -> tuple[str, str]:
    f = lookup(key, "kpis")
    if f is None:
        return key, "?"
    svc = key.split("__", 1)[1] if "__" in key else ""
    return f.label.replace("{svc}", svc), f.display_unit


def _cash_table(run: RunData) -> dict[str, Any] | None:
    try:
        t = run.table("cash_flows", ("year", "project_cash_flow_eur"))
    except Missing:
        return None
    rows = []
    for col in (c for c in CASH_ROWS if c in t.columns):
        f = lookup(col, "cash_flows")
        money = col.endswith("_eur")
        cells = [("" if pd.isna(v) else f"{v / 1e6 + 0.0:,.1f}" if money else f"{v:,.2f}") for v in t[col]]
        rows.append({"label": f.label if f else col, "unit": "EUR million" if money else (f.unit if f else ""),
                     "cells": cells})
    return {"years": [int(y) for y in t["year"]], "rows": rows}


def investor_context(run: RunData) -> dict[str, Any] | None:
    """Rows (label, value, P10 to P90, unit) of the investor figures and the cash-flow table; None without them."""
    try:
        band = run.table("investor", ("kpi", "value", "p10", "p90"))
    except Missing:
        band = None
    if band is None and "npv_eur" not in run.kpis:
        return None
    rows = []
    keys = list(band["kpi"]) if band is not None else ["npv_eur", "irr_project", "payback_years"]
    by = band.set_index("kpi") if band is not None else None
    for key in keys:
        label, unit = _label(key)
        value = run.kpis.get(key, by.loc[key, "value"] if by is not None else None)
        if key == "payback_years" and value is None:  # kpis.json stores a payback never reached as null
            value = math.inf
        rng = (f"{_fmt(key, by.loc[key, 'p10'])} to {_fmt(key, by.loc[key, 'p90'])}" if by is not None
               and int(by.loc[key, "samples"]) > 0 else "no band (economics.finance.band_samples: 0)")
        rows.append({"label": label, "value": _fmt(key, value), "range": rng, "unit": unit})
    n = int(band["samples"].max()) if band is not None and len(band) else 0
    inputs = int(band["inputs_varied"].max()) if band is not None and len(band) else 0
    return {"rows": rows, "samples": n, "inputs": inputs, "costs_include": COSTS_INCLUDE, "cash": _cash_table(run)}
