"""``account()``: a run's time series in, energy, carbon, cost lines, TCO, NPV and unit costs out.

Conventions (stated once, used everywhere):

* Run figures (``energy_cost_eur``, ``grid_energy_mwh``, ``emissions_*_t``,
  ``heat_revenue_eur``) cover the simulated span only.
* Horizon figures (``tco_eur``, ``npv_eur``, ``irr_project``, ``cost_lines``,
  ``cash_flows``) cover ``economics.finance.horizon_years`` from the simulation
  start; each year's operation is the simulated span scaled to 8,760 h (a
  one-year run repeats); see ``horizon`` and ``cashflow`` for the table.
* Unit costs divide the TCO by the horizon's GPU-hours, so
  ``eur_per_gpu_hour_available x gpu_hours_available_horizon == tco_eur``
  exactly; per-model figures allocate the inference share of the TCO.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dctwin.accounting.capex import capex_rows, installed_platforms
from dctwin.accounting.cashflow import monthly_cash_flows
from dctwin.accounting.horizon import horizon_accounts
from dctwin.accounting.totals import RunTotals, run_totals, step_flows, step_sums
from dctwin.catalog import Platform
from dctwin.config import Scenario
from dctwin.errors import DctwinError, InputError

__all__ = ["REQUIRED_COLUMNS", "Accounts", "account", "accounting_stage", "finance_accounts",
           "heat_price_by_month_eur_per_mwh"]

REQUIRED_COLUMNS = ("timestamp", "grid_power_kw", "heat_delivered_kw", "price_eur_per_mwh", "carbon_g_per_kwh",
                    "gpus_online", "gpus_busy_training", "gpus_busy_inference")


@dataclass
class Accounts:
    """KPIs (flat, unit in each key), the horizon's cost lines and the run's monthly table."""

    kpis: dict[str, float]
    cost_lines: pd.DataFrame
    monthly: pd.DataFrame
    cash_flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    cash_flows_monthly: pd.DataFrame = field(default_factory=pd.DataFrame)
    investor: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_step: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _check(series: pd.DataFrame, step_s: int) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in series.columns]
    if missing:
        raise InputError("run time series lacks columns", field="series", value=missing,
                         allowed=", ".join(REQUIRED_COLUMNS))
    if step_s <= 0:
        raise InputError("step must be positive", field="step_s", value=step_s, allowed="> 0 s")
    if len(series) == 0:
        raise InputError("run time series is empty", field="series")
    for c in REQUIRED_COLUMNS[1:]:
        if not np.all(np.isfinite(series[c].to_numpy(dtype=float))):
            raise InputError("column has NaN or infinite values", field=f"series.{c}")


def heat_price_by_month_eur_per_mwh(scenario: Scenario) -> np.ndarray:
    """Price of heat delivered in months 1..12 [EUR/MWh].

    Seasonal: the site's district-heating tariff shape (``dctwin.site.heat_price_factor``
    of the heat-demand profile) times the annual mean; else flat.
    """
    econ = scenario.economics
    if econ.heat_price_seasonal:
        try:
            from dctwin.site import heat_price_factor

            return econ.heat_price_eur_per_mwh * np.asarray(
                heat_price_factor(scenario.site.heat_demand.profile, np.arange(1, 13)), dtype=float)
        except (ImportError, DctwinError):  # no site profile: the cost-norms shape
            pass
    return np.asarray(econ.heat_price_by_month_eur_per_mwh(), dtype=float)


def account(scenario: Scenario, series: pd.DataFrame, step_s: int,
            platforms: Mapping[str, Platform] | None = None) -> Accounts:
    """Energy, carbon, cost and finance of one run.

    scenario: the resolved scenario; series: per-step run time series (columns
    in ``REQUIRED_COLUMNS`` plus per-service ``<svc>__output_tokens_served_per_s``
    and ``<svc>__input_tokens_served_per_s`` [tokens/s], optional
    ``water_l_per_h`` [L/h], ``throughput_factor`` [-] of a power-capped run,
    ``backlog_gpu_hours`` [GPU-h] of deferred work); step_s: step length [s]; platforms: catalog
    override by id (tests), else the packaged catalog.
    """
    _check(series, step_s)
    return _account(scenario, run_totals(series, step_s), platforms)


def _account(scenario: Scenario, totals: RunTotals, platforms: Mapping[str, Platform] | None = None) -> Accounts:
    steps = step_flows(scenario.economics, heat_price_by_month_eur_per_mwh(scenario), totals)
    kpis, cost_lines, columns = finance_accounts(scenario, totals, steps, platforms)
    cash_flows = pd.DataFrame(columns)
    per_step = pd.DataFrame({"timestamp": totals.ts, **steps})
    monthly, cf_monthly = _monthly(per_step, totals.ts, cash_flows)
    return Accounts(kpis=kpis, cost_lines=cost_lines, monthly=monthly, per_step=per_step, cash_flows=cash_flows,
                    cash_flows_monthly=cf_monthly)


def _annual(scenario: Scenario, t: RunTotals, sums: Mapping[str, float]) -> dict[str, float]:
    """Operating flows of one year (the run scaled to 8,760 h) by cost line [EUR/year, heat sold negative]."""
    opx, scale = scenario.economics.opex, t.scale
    return {
        "energy_spot": sums["spot_cost_eur"] * scale,
        "energy_ppa": sums["ppa_cost_eur"] * scale,
        "energy_ppa_surplus_sold": sums["ppa_surplus_credit_eur"] * scale,
        "energy_tax": sums["energy_tax_eur"] * scale,
        "grid_fees": sums["grid_fee_eur"] * scale,
        "heat_sold": -sums["heat_revenue_eur"] * scale,
        "water": sums["water_cost_eur"] * scale,
        "staff": opx.staff_fte * opx.staff_cost_eur_per_fte_year,
    }


_CATEGORIES = {"energy_spot": "energy", "energy_ppa": "energy", "energy_ppa_surplus_sold": "energy",
               "energy_tax": "energy", "grid_fees": "energy", "heat_sold": "heat", "water": "opex", "staff": "opex"}


def _div(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def finance_accounts(scenario: Scenario, t: RunTotals, steps: Mapping[str, np.ndarray],
                     platforms: Mapping[str, Platform] | None = None,
                     frames: bool = True, sums: Mapping[str, float] | None = None,
                     ) -> tuple[dict[str, float], pd.DataFrame | list, dict[str, np.ndarray]]:
    """KPIs, cost lines and the yearly cash-flow table's columns of the horizon from the run's totals and
    per-step flows (``step_flows``) under ``scenario.economics``: the part of ``account`` the investor band
    re-runs (with ``frames=False``: the cost lines as (line, category, EUR) tuples, no DataFrame; ``sums``: the
    flows' sums over the run when the caller has them, ``step_sums``)."""
    sums = step_sums(steps) if sums is None else sums
    years = scenario.economics.finance.horizon_years
    items = capex_rows(scenario, platforms)
    capex_fac = float(np.array([r["eur"] for r in items if r["category"] == "facility"], dtype=float).sum())
    capex_it = float(np.array([r["eur"] for r in items if r["category"] == "it"], dtype=float).sum())
    gpuh_used = t.gpuh_train + t.gpuh_inf
    hz = horizon_accounts(scenario.economics, items, _annual(scenario, t, sums), _CATEGORIES, t.gpuh_avail * t.scale,
                          gpuh_used / t.gpuh_avail if t.gpuh_avail > 0 else 0.0)
    tco = hz["kpis"]["tco_eur"]
    gpuh_avail_h = t.gpuh_avail * t.scale * years
    gpuh_used_h = gpuh_used * t.scale * years
    pflop_h = gpuh_avail_h * _mean_fp8_pflops(scenario, platforms)
    kpis: dict[str, float] = {
        "run_hours": t.run_h,
        "horizon_years": float(years),
        "grid_energy_mwh": sums["energy_mwh"],
        "spot_energy_mwh": sums["spot_mwh"],
        "ppa_energy_mwh": sums["ppa_matched_mwh"],
        "ppa_surplus_mwh": sums["ppa_surplus_mwh"],
        "energy_cost_eur": sums["energy_cost_eur"],
        "energy_cost_eur_per_mwh": _div(sums["energy_cost_eur"], sums["energy_mwh"]),
        "heat_delivered_mwh": sums["heat_delivered_mwh"],
        "heat_revenue_eur": sums["heat_revenue_eur"],
        "emissions_location_t": sums["emissions_location_t"],
        "emissions_market_t": sums["emissions_market_t"],
        "water_m3": sums["water_m3"],
        "capex_eur": capex_fac + capex_it,
        "capex_facility_eur": capex_fac,
        "capex_it_eur": capex_it,
        **hz["kpis"],
        "gpu_hours_available": t.gpuh_avail,
        "gpu_hours_used": gpuh_used,
        "effective_gpu_hours_used": t.gpuh_effective,
        "gpu_hours_available_horizon": gpuh_avail_h,
        "gpu_hours_used_horizon": gpuh_used_h,
        "pflop_hours_fp8_horizon": pflop_h,
        "unit_cost_base_eur": tco,
        "eur_per_gpu_hour_available": _div(tco, gpuh_avail_h),
        "eur_per_gpu_hour_used": _div(tco, gpuh_used_h),
        "eur_per_pflop_hour": _div(tco, pflop_h),
    }
    if t.backlog_gpu_hours_end is not None:
        kpis["backlog_gpu_hours_end"] = t.backlog_gpu_hours_end
    _service_costs(kpis, hz["cash_flows"], t, years)
    lines = pd.DataFrame(hz["cost_lines"], columns=["line", "category", "eur"]) if frames else hz["cost_lines"]
    return kpis, lines, hz["cash_flows"]


def _mean_fp8_pflops(scenario: Scenario, platforms: Mapping[str, Platform] | None) -> float:
    """Installed GPUs' mean dense FP8 throughput [PFLOP/s per GPU]."""
    plats = installed_platforms(scenario, platforms)
    gpus_by = {pid: 0 for pid in plats}
    for ph in scenario.phases:
        for g in ph.racks:
            gpus_by[g.platform] += g.count * plats[g.platform].gpus_per_unit
    n_gpus = sum(gpus_by.values())
    return (sum(gpus_by[p] * plats[p].fp8_dense_tflops for p in plats) / n_gpus / 1000.0) if n_gpus else 0.0


def _service_costs(kpis: dict[str, float], cash_flows: dict[str, np.ndarray], t: RunTotals, years: int) -> None:
    """Per inference service: tokens, cost and carbon per million tokens (input + output), and the year's spot
    price per million tokens (a column of ``cash_flows``)."""
    gpuh_used = t.gpuh_train + t.gpuh_inf
    inf_cost = kpis["eur_per_gpu_hour_used"] * t.gpuh_inf * t.scale * years if gpuh_used > 0 else 0.0
    kpis["inference_cost_base_eur"] = inf_cost
    inf_share = _div(t.gpuh_inf, gpuh_used) if gpuh_used > 0 else 0.0
    wsum = sum(t.weights.values())
    for s in t.tokens:
        w = t.weights[s] / wsum if wsum > 0 else 0.0
        mtok_run = t.tokens[s] / 1e6
        mtok_h = mtok_run * t.scale * years
        kpis[f"tokens_served__{s}"] = t.tokens[s]
        kpis[f"inference_cost_eur__{s}"] = inf_cost * w
        kpis[f"eur_per_mtok__{s}"] = _div(inf_cost * w, mtok_h)
        kpis[f"gco2_per_mtok__{s}"] = _div(kpis["emissions_location_t"] * 1e6 * inf_share * w, mtok_run)
        kpis[f"gco2_per_mtok_market__{s}"] = _div(kpis["emissions_market_t"] * 1e6 * inf_share * w, mtok_run)
        # the year's GPU-hour price per million tokens at this service's tokens per busy GPU-hour (its share
        # of the inference GPU-hours, as for its cost)
        cash_flows[f"spot_price_eur_per_mtok__{s}"] = (cash_flows["spot_price_eur_per_gpu_hour"]
                                                       * _div(w * t.gpuh_inf, mtok_run))


def _monthly(per_step: pd.DataFrame, ts: pd.DatetimeIndex, cash_flows: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                                                pd.DataFrame]:
    """The run's monthly table and the horizon's cash flows by month."""
    grp = per_step.groupby(ts.to_period("M"))
    monthly = pd.DataFrame({
        "grid_energy_mwh": grp["energy_mwh"].sum(),
        "energy_cost_eur": grp["energy_cost_eur"].sum(),
        "heat_delivered_mwh": grp["heat_delivered_mwh"].sum(),
        "heat_revenue_eur": grp["heat_revenue_eur"].sum(),
        "emissions_location_t": grp["emissions_location_t"].sum(),
        "emissions_market_t": grp["emissions_market_t"].sum(),
    })
    monthly.index = monthly.index.astype(str)
    monthly = monthly.rename_axis("month").reset_index()
    shares = _calendar_shares(per_step, ts)
    cf_monthly = monthly_cash_flows(cash_flows, shares["energy_cost_eur"], shares["heat_revenue_eur"],
                                    first_month=int(ts[0].month))
    return monthly, cf_monthly


def _calendar_shares(per_step: pd.DataFrame, ts: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Share of a year's energy cost and heat revenue in each calendar month: the run's shape when it covers all
    12 months (and the total is positive), else 1/12 each."""
    out = {}
    for col in ("energy_cost_eur", "heat_revenue_eur"):
        by_month = per_step[col].groupby(ts.month).sum().reindex(range(1, 13))
        covered = by_month.notna().all() and float(by_month.sum()) > 0 and (by_month >= 0).all()
        out[col] = (by_month / by_month.sum()).to_numpy(dtype=float) if covered else np.full(12, 1.0 / 12)
    return out


def accounting_stage(scenario: Scenario, series: pd.DataFrame, step_s: int, draws=None) -> Accounts:
    """``account`` plus the investor table: P10-P90 of NPV, IRR, payback and unit costs over the finance norms'
    ranges (``economics.finance.band_samples`` draws, ``band.band_draws`` unless given; each re-prices the run's
    per-step flows and re-runs ``finance_accounts`` on the run's totals, taken once)."""
    from dctwin.accounting.band import investor_table

    _check(series, step_s)
    totals = run_totals(series, step_s)
    acc = _account(scenario, totals)

    reuse: dict = {}  # the draws' flows that the spot and heat prices do not enter, computed once

    def kpis_of(sc) -> dict[str, float]:
        steps = step_flows(sc.economics, heat_price_by_month_eur_per_mwh(sc), totals, reuse)
        return finance_accounts(sc, totals, steps, frames=False, sums=step_sums(steps, reuse))[0]

    acc.investor = investor_table(scenario, kpis_of, acc.kpis, scenario.economics.finance.band_samples, draws)
    return acc
