"""The horizon of a run: capital schedule, cost lines (sum == TCO), revenue, cash-flow table and returns.

A year of operation is the simulated span scaled to 8,760 h (see ``accounts``);
capital, insurance, maintenance and revenue vary by year. Identities the tests hold:

* ``cost_lines.eur.sum() == tco_eur`` and
  ``tco_eur == -(capital + operating costs + heat revenue + residual value) + cost_of_capital``
  over the cash-flow table's columns (compute revenue and tax are not costs);
* ``cash_flows.pv_project_eur.sum() == npv_eur``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dctwin.accounting.cashflow import CAPITAL, cash_flow_table, debt_columns, returns, row_sum
from dctwin.accounting.finance import asset_schedule, discount_factors
from dctwin.accounting.revenue import revenue_columns
from dctwin.config.economics import EconomicsConfig

__all__ = ["ENERGY_LINES", "horizon_accounts"]

ENERGY_LINES = ("energy_spot", "energy_ppa", "energy_ppa_surplus_sold", "energy_tax", "grid_fees")


def _cost_lines(sched: dict, residual_it_frac: float, annual: Mapping[str, float], categories: Mapping[str, str],
                years: int, insurance: np.ndarray, maint_fac: np.ndarray,
                maint_it: np.ndarray) -> list[tuple[str, str, float]]:
    """(line, category, EUR) of the horizon; they sum to the TCO."""
    lines: list[tuple[str, str, float]] = []
    for b in sched["purchases"]:
        lines.append((f"capex__{b['line']}", "capex_refresh" if b["refresh"] else "capex", b["eur"]))
    for r in sched["residual"]:
        frac = residual_it_frac if r["category"] == "it" else 1.0
        lines.append((f"residual_value__{r['line'].removesuffix('__residual')}", "residual_value", -r["eur"] * frac))
    lines.append(("cost_of_capital", "financing", float(sched["cost_of_capital"].sum())))
    for name, v in annual.items():
        lines.append((name, categories[name], v * years))
    lines.append(("insurance", "opex", float(insurance.sum())))
    lines.append(("maintenance_facility", "opex", float(maint_fac.sum())))
    lines.append(("maintenance_it", "opex", float(maint_it.sum())))
    return lines


def _capital_by_period(purchases: list[dict], years: int) -> dict[str, np.ndarray]:
    out = {c: np.zeros(years + 1) for c in CAPITAL}
    for b in purchases:
        col = "capex_it_refresh_eur" if (b["refresh"] and b["category"] == "it") else f"capex_{b['category']}_eur"
        out[col][int(b["period"])] -= b["eur"]
    return out


def _residual_values(residual: list[dict], it_residual_frac_of_book: float) -> tuple[float, float]:
    """Book and market value of the assets at the horizon end [EUR] (IT sells at a fraction of its book)."""
    eur = np.array([r["eur"] for r in residual], dtype=float)
    it = np.array([r["category"] == "it" for r in residual], dtype=bool)
    return float(eur.sum()), float((eur * np.where(it, it_residual_frac_of_book, 1.0)).sum())


def _sum(values) -> float:
    """Sum of floats in order, as numpy (and pandas) sum them."""
    return float(np.array(values, dtype=float).sum())


def horizon_accounts(econ: EconomicsConfig, items: list[dict], annual: Mapping[str, float],
                     categories: Mapping[str, str], gpu_hours_available_per_year: float,
                     utilisation_frac: float) -> dict:
    """Cost lines, revenue by year, the cash-flow table and horizon KPIs.

    items: ``capex_rows``; annual: operating flows of one year by line [EUR/year, costs positive, heat
    sold negative]; categories: category of each annual line; gpu_hours_available_per_year [GPU-h];
    utilisation_frac: busy / online GPU-hours of the run [-]. ``cost_lines``: (line, category, EUR) tuples.
    """
    fin, opx = econ.finance, econ.opex
    n = fin.horizon_years
    sched = asset_schedule(items, n, fin.wacc, fin.rate, refresh_price_factor=fin.refresh_price_factor)
    insurance = opx.insurance_frac_per_year * (sched["gross_facility"] + sched["gross_it"])
    maint_fac = opx.facility_maintenance_frac_per_year * sched["gross_facility"]
    maint_it = opx.it_maintenance_frac_per_year * sched["gross_it"]
    cost_lines = _cost_lines(sched, fin.it_residual_frac_of_book, annual, categories, n, insurance, maint_fac, maint_it)

    it_t0 = [r["year_offset"] for r in items if r["category"] == "it"]
    rev = revenue_columns(n, gpu_hours_available_per_year, utilisation_frac,
                          launch_price_eur_per_gpu_hour=fin.revenue_eur_per_gpu_hour,
                          decline_per_year=fin.gpu_price_decline_per_year, contracted_share=fin.contracted_share,
                          contract_price_frac=fin.contract_price_frac, contract_years=fin.contract_years,
                          ramp_start_frac=fin.ramp_start_frac, ramp_years=fin.ramp_years,
                          it_life_years=fin.it_life_years, t0_years=max(float(min(it_t0)), 0.0) if it_t0 else 0.0)

    def yearly(v: np.ndarray | float) -> np.ndarray:  # years 1..N -> periods 0..N (nothing at period 0)
        return np.concatenate([[0.0], np.broadcast_to(np.asarray(v, dtype=float), (n,))])

    lines = _capital_by_period(sched["purchases"], n)
    lines["compute_revenue_eur"] = yearly(rev["compute_revenue_eur"])
    lines["heat_revenue_eur"] = yearly(-annual.get("heat_sold", 0.0))
    lines["energy_eur"] = yearly(-sum(annual.get(k, 0.0) for k in ENERGY_LINES))
    lines["staff_eur"] = yearly(-annual.get("staff", 0.0))
    lines["water_eur"] = yearly(-annual.get("water", 0.0))
    lines["insurance_eur"] = yearly(-insurance)
    lines["maintenance_eur"] = yearly(-(maint_fac + maint_it))

    book, market = _residual_values(sched["residual"], fin.it_residual_frac_of_book)
    debt_eur = fin.debt_share * -float(sum(lines[c][0] for c in CAPITAL))
    debt = debt_columns(debt_eur, fin.debt_rate, fin.debt_tenor_years, n)
    table = cash_flow_table(lines, sched["depreciation"], book, market, fin.rate, fin.corporate_tax_rate, debt)
    for col, v in rev.items():  # the revenue model's years 1..N
        if col not in ("year", "compute_revenue_eur"):
            table[col] = np.concatenate([[np.nan], np.asarray(v, dtype=float)])

    cost_cols = [*CAPITAL, "heat_revenue_eur", "energy_eur", "staff_eur", "water_eur", "insurance_eur",
                 "maintenance_eur", "residual_value_eur"]
    pv_cost = -float((row_sum(table, cost_cols) * table["discount_factor"]).sum())
    pv_gpuh = gpu_hours_available_per_year * float(discount_factors(np.arange(1, n + 1), fin.rate).sum())
    kpis = {
        "tco_eur": _sum([eur for _, _, eur in cost_lines]),
        "pv_cost_eur": pv_cost,
        "lcoc_eur_per_gpu_hour": pv_cost / pv_gpuh if pv_gpuh > 0 else float("nan"),
        "opex_year_eur": float(-(row_sum(table, cost_cols[3:-1])[1:].sum() / n)),
        "compute_revenue_horizon_eur": float(table["compute_revenue_eur"].sum()),
        "cost_of_capital_eur": float(sched["cost_of_capital"].sum()),
        **returns(table),
    }
    return {"cost_lines": cost_lines, "cash_flows": table, "kpis": kpis}
