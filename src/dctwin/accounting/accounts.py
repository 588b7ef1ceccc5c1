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

from dctwin.accounting.capex import capex_items, installed_platforms
from dctwin.accounting.carbon import emissions_t
from dctwin.accounting.cashflow import monthly_cash_flows
from dctwin.accounting.energy import energy_flows
from dctwin.accounting.horizon import horizon_accounts
from dctwin.catalog import Platform
from dctwin.config import Scenario
from dctwin.errors import DctwinError, InputError

__all__ = ["REQUIRED_COLUMNS", "Accounts", "account", "accounting_stage", "heat_price_by_month_eur_per_mwh"]

HOURS_PER_YEAR = 8760.0
REQUIRED_COLUMNS = ("timestamp", "grid_power_kw", "heat_delivered_kw", "price_eur_per_mwh", "carbon_g_per_kwh",
                    "gpus_online", "gpus_busy_training", "gpus_busy_inference")
OUT_SUFFIX = "__output_tokens_served_per_s"
IN_SUFFIX = "__input_tokens_served_per_s"


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


def _col(series: pd.DataFrame, name: str) -> np.ndarray:
    return series[name].to_numpy(dtype=float)


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


def _services(series: pd.DataFrame) -> list[str]:
    return sorted(c[: -len(OUT_SUFFIX)] for c in series.columns if c.endswith(OUT_SUFFIX))


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
    econ = scenario.economics
    opx = econ.opex
    step_h = step_s / 3600.0
    n_steps = len(series)
    run_h = n_steps * step_h
    scale = HOURS_PER_YEAR / run_h  # run -> one year
    years = econ.finance.horizon_years

    # --- energy, heat, carbon per step
    flows = energy_flows(_col(series, "grid_power_kw"), _col(series, "price_eur_per_mwh") * econ.spot_price_factor,
                         step_h,
                         ppa_share=econ.ppa_share, ppa_price_eur_per_mwh=econ.ppa_price_eur_per_mwh,
                         ppa_matching=econ.ppa_matching, energy_tax_eur_per_mwh=econ.energy_tax_eur_per_mwh,
                         grid_fee_eur_per_mwh=econ.grid_fee_eur_per_mwh)
    ts = pd.DatetimeIndex(pd.to_datetime(series["timestamp"]))
    month_idx = ts.month.to_numpy() - 1
    heat_price = heat_price_by_month_eur_per_mwh(scenario)[month_idx]
    heat_mwh = _col(series, "heat_delivered_kw") * step_h / 1000.0
    heat_rev = heat_mwh * heat_price
    em = emissions_t(flows["energy_mwh"], _col(series, "carbon_g_per_kwh"), flows["ppa_matched_mwh"],
                     residual_mix_g_per_kwh=econ.residual_mix_g_per_kwh,
                     ppa_carbon_g_per_kwh=econ.ppa_carbon_g_per_kwh)
    water_m3 = (_col(series, "water_l_per_h") * step_h / 1000.0 if "water_l_per_h" in series.columns
                else np.zeros(n_steps))
    water_eur = water_m3 * opx.water_price_eur_per_m3

    per_step = pd.DataFrame({"timestamp": ts, **flows, "heat_delivered_mwh": heat_mwh, "heat_revenue_eur": heat_rev,
                             "emissions_location_t": em["location_t"], "emissions_market_t": em["market_t"],
                             "water_m3": water_m3, "water_cost_eur": water_eur})

    # --- GPU-hours and tokens of the run
    gpuh_avail = float(_col(series, "gpus_online").sum() * step_h)
    gpuh_train = float(_col(series, "gpus_busy_training").sum() * step_h)
    gpuh_inf = float(_col(series, "gpus_busy_inference").sum() * step_h)
    gpuh_used = gpuh_train + gpuh_inf
    tf = _col(series, "throughput_factor") if "throughput_factor" in series.columns else np.ones(n_steps)
    busy = _col(series, "gpus_busy_training") + _col(series, "gpus_busy_inference")
    gpuh_effective = float((busy * tf).sum() * step_h)

    # --- capital
    items = capex_items(scenario, platforms)
    capex_fac = float(items.loc[items.category == "facility", "eur"].sum())
    capex_it = float(items.loc[items.category == "it", "eur"].sum())

    # --- annual operating flows (a year = the run scaled to 8,760 h), then the horizon
    annual = {
        "energy_spot": float(flows["spot_cost_eur"].sum()) * scale,
        "energy_ppa": float(flows["ppa_cost_eur"].sum()) * scale,
        "energy_ppa_surplus_sold": float(flows["ppa_surplus_credit_eur"].sum()) * scale,
        "energy_tax": float(flows["energy_tax_eur"].sum()) * scale,
        "grid_fees": float(flows["grid_fee_eur"].sum()) * scale,
        "heat_sold": -float(heat_rev.sum()) * scale,
        "water": float(water_eur.sum()) * scale,
        "staff": opx.staff_fte * opx.staff_cost_eur_per_fte_year,
    }
    categories = {"energy_spot": "energy", "energy_ppa": "energy", "energy_ppa_surplus_sold": "energy",
                  "energy_tax": "energy", "grid_fees": "energy", "heat_sold": "heat", "water": "opex",
                  "staff": "opex"}
    hz = horizon_accounts(econ, items, annual, categories, gpuh_avail * scale,
                          gpuh_used / gpuh_avail if gpuh_avail > 0 else 0.0)
    cost_lines = hz["cost_lines"]
    tco = hz["kpis"]["tco_eur"]

    # --- unit costs
    gpuh_avail_h = gpuh_avail * scale * years
    gpuh_used_h = gpuh_used * scale * years
    plats = installed_platforms(scenario, platforms)
    gpus_by = {pid: 0 for pid in plats}
    for ph in scenario.phases:
        for g in ph.racks:
            gpus_by[g.platform] += g.count * plats[g.platform].gpus_per_unit
    n_gpus = sum(gpus_by.values())
    fp8_pflops = (sum(gpus_by[p] * plats[p].fp8_dense_tflops for p in plats) / n_gpus / 1000.0) if n_gpus else 0.0
    pflop_h = gpuh_avail_h * fp8_pflops

    def _div(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    kpis: dict[str, float] = {
        "run_hours": run_h,
        "horizon_years": float(years),
        "grid_energy_mwh": float(flows["energy_mwh"].sum()),
        "spot_energy_mwh": float(flows["spot_mwh"].sum()),
        "ppa_energy_mwh": float(flows["ppa_matched_mwh"].sum()),
        "ppa_surplus_mwh": float(flows["ppa_surplus_mwh"].sum()),
        "energy_cost_eur": float(flows["energy_cost_eur"].sum()),
        "energy_cost_eur_per_mwh": _div(float(flows["energy_cost_eur"].sum()), float(flows["energy_mwh"].sum())),
        "heat_delivered_mwh": float(heat_mwh.sum()),
        "heat_revenue_eur": float(heat_rev.sum()),
        "emissions_location_t": float(em["location_t"].sum()),
        "emissions_market_t": float(em["market_t"].sum()),
        "water_m3": float(water_m3.sum()),
        "capex_eur": capex_fac + capex_it,
        "capex_facility_eur": capex_fac,
        "capex_it_eur": capex_it,
        **hz["kpis"],
        "gpu_hours_available": gpuh_avail,
        "gpu_hours_used": gpuh_used,
        "effective_gpu_hours_used": gpuh_effective,
        "gpu_hours_available_horizon": gpuh_avail_h,
        "gpu_hours_used_horizon": gpuh_used_h,
        "pflop_hours_fp8_horizon": pflop_h,
        "unit_cost_base_eur": tco,
        "eur_per_gpu_hour_available": _div(tco, gpuh_avail_h),
        "eur_per_gpu_hour_used": _div(tco, gpuh_used_h),
        "eur_per_pflop_hour": _div(tco, pflop_h),
    }

    if "backlog_gpu_hours" in series.columns:
        kpis["backlog_gpu_hours_end"] = float(series["backlog_gpu_hours"].iloc[-1])

    # --- per inference service: cost and carbon per million tokens (input + output)
    svcs = _services(series)
    inf_cost = kpis["eur_per_gpu_hour_used"] * gpuh_inf * scale * years if gpuh_used > 0 else 0.0
    kpis["inference_cost_base_eur"] = inf_cost
    inf_share = _div(gpuh_inf, gpuh_used) if gpuh_used > 0 else 0.0
    tokens = {}
    weights = {}
    for s in svcs:
        tok = series[s + OUT_SUFFIX].to_numpy(dtype=float).sum() * step_s
        if s + IN_SUFFIX in series.columns:
            tok += series[s + IN_SUFFIX].to_numpy(dtype=float).sum() * step_s
        tokens[s] = float(tok)
        gcol = f"{s}__gpus_busy"
        weights[s] = float(series[gcol].to_numpy(dtype=float).sum()) if gcol in series.columns else float(tok)
    wsum = sum(weights.values())
    for s in svcs:
        w = weights[s] / wsum if wsum > 0 else 0.0
        mtok_run = tokens[s] / 1e6
        mtok_h = mtok_run * scale * years
        kpis[f"tokens_served__{s}"] = tokens[s]
        kpis[f"inference_cost_eur__{s}"] = inf_cost * w
        kpis[f"eur_per_mtok__{s}"] = _div(inf_cost * w, mtok_h)
        kpis[f"gco2_per_mtok__{s}"] = _div(kpis["emissions_location_t"] * 1e6 * inf_share * w, mtok_run)
        kpis[f"gco2_per_mtok_market__{s}"] = _div(kpis["emissions_market_t"] * 1e6 * inf_share * w, mtok_run)
        # the year's GPU-hour price per million tokens at this service's tokens per busy GPU-hour (its share
        # of the inference GPU-hours, as for its cost)
        hz["cash_flows"][f"spot_price_eur_per_mtok__{s}"] = (hz["cash_flows"]["spot_price_eur_per_gpu_hour"]
                                                              * _div(w * gpuh_inf, mtok_run))

    # --- monthly table of the run
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
    cf_monthly = monthly_cash_flows(hz["cash_flows"], shares["energy_cost_eur"], shares["heat_revenue_eur"],
                                    first_month=int(ts[0].month))
    return Accounts(kpis=kpis, cost_lines=cost_lines, monthly=monthly, per_step=per_step, cash_flows=hz["cash_flows"],
                    cash_flows_monthly=cf_monthly)


def _calendar_shares(per_step: pd.DataFrame, ts: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Share of a year's energy cost and heat revenue in each calendar month: the run's shape when it covers all
    12 months (and the total is positive), else 1/12 each."""
    out = {}
    for col in ("energy_cost_eur", "heat_revenue_eur"):
        by_month = per_step[col].groupby(ts.month).sum().reindex(range(1, 13))
        covered = by_month.notna().all() and float(by_month.sum()) > 0 and (by_month >= 0).all()
        out[col] = (by_month / by_month.sum()).to_numpy(dtype=float) if covered else np.full(12, 1.0 / 12)
    return out


def accounting_stage(scenario: Scenario, series: pd.DataFrame, step_s: int) -> Accounts:
    """``account`` plus the investor table: P10-P90 of NPV, IRR, payback and unit costs over the finance norms'
    ranges (``economics.finance.band_samples`` re-runs of the accounting on the same series)."""
    from dctwin.accounting.band import investor_table

    acc = account(scenario, series, step_s)
    acc.investor = investor_table(scenario, lambda sc: account(sc, series, step_s).kpis, acc.kpis,
                                  scenario.economics.finance.band_samples)
    return acc
