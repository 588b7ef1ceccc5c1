"""What the accounting reads of a run's time series, taken once: per-step arrays and the run's sums.

``run_totals`` holds everything that does not depend on the economics (energy drawn, heat delivered,
GPU-hours, tokens); ``step_flows`` prices one economics section onto it per step (energy bought, heat
sold, emissions, water). The finance of a horizon (``accounts.finance_accounts``) is a function of
these and the finance inputs, so the investor band re-runs only that part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.accounting.carbon import emissions_t
from dctwin.accounting.energy import energy_flows

__all__ = ["HOURS_PER_YEAR", "RunTotals", "run_totals", "step_flows"]

HOURS_PER_YEAR = 8760.0
OUT_SUFFIX = "__output_tokens_served_per_s"
IN_SUFFIX = "__input_tokens_served_per_s"


@dataclass(frozen=True)
class RunTotals:
    """A run's per-step inputs to the accounting and its sums over the run (no economics in here)."""

    step_s: int
    step_h: float                      # step length [h]
    run_h: float                       # simulated span [h]
    scale: float                       # run -> one year of 8,760 h [-]
    ts: pd.DatetimeIndex
    month_idx: np.ndarray              # calendar month of each step, 0..11
    grid_kw: np.ndarray                # [kW]
    price_eur_per_mwh: np.ndarray      # spot price before the scenario's spot price factor [EUR/MWh]
    carbon_g_per_kwh: np.ndarray
    heat_mwh: np.ndarray               # heat delivered per step [MWh]
    water_m3: np.ndarray               # water drawn per step [m3]
    gpuh_avail: float                  # GPU-hours online, busy training, busy inference, busy x throughput
    gpuh_train: float
    gpuh_inf: float
    gpuh_effective: float
    tokens: dict[str, float]           # tokens served (input + output) per inference service
    weights: dict[str, float]          # each service's share weight of the inference GPU-hours
    backlog_gpu_hours_end: float | None


def _col(series: pd.DataFrame, name: str) -> np.ndarray:
    return series[name].to_numpy(dtype=float)


def _services(series: pd.DataFrame, step_s: int) -> tuple[dict[str, float], dict[str, float]]:
    """Tokens served per service and its weight (busy GPUs when the run has them, else its tokens)."""
    svcs = sorted(c[: -len(OUT_SUFFIX)] for c in series.columns if c.endswith(OUT_SUFFIX))
    tokens, weights = {}, {}
    for s in svcs:
        tok = series[s + OUT_SUFFIX].to_numpy(dtype=float).sum() * step_s
        if s + IN_SUFFIX in series.columns:
            tok += series[s + IN_SUFFIX].to_numpy(dtype=float).sum() * step_s
        tokens[s] = float(tok)
        gcol = f"{s}__gpus_busy"
        weights[s] = float(series[gcol].to_numpy(dtype=float).sum()) if gcol in series.columns else float(tok)
    return tokens, weights


def run_totals(series: pd.DataFrame, step_s: int) -> RunTotals:
    """The run's accounting inputs (the series is checked by ``accounts.account``)."""
    step_h = step_s / 3600.0
    n_steps = len(series)
    run_h = n_steps * step_h
    ts = pd.DatetimeIndex(pd.to_datetime(series["timestamp"]))
    tf = _col(series, "throughput_factor") if "throughput_factor" in series.columns else np.ones(n_steps)
    busy = _col(series, "gpus_busy_training") + _col(series, "gpus_busy_inference")
    tokens, weights = _services(series, step_s)
    return RunTotals(
        step_s=step_s, step_h=step_h, run_h=run_h, scale=HOURS_PER_YEAR / run_h, ts=ts,
        month_idx=ts.month.to_numpy() - 1, grid_kw=_col(series, "grid_power_kw"),
        price_eur_per_mwh=_col(series, "price_eur_per_mwh"), carbon_g_per_kwh=_col(series, "carbon_g_per_kwh"),
        heat_mwh=_col(series, "heat_delivered_kw") * step_h / 1000.0,
        water_m3=(_col(series, "water_l_per_h") * step_h / 1000.0 if "water_l_per_h" in series.columns
                  else np.zeros(n_steps)),
        gpuh_avail=float(_col(series, "gpus_online").sum() * step_h),
        gpuh_train=float(_col(series, "gpus_busy_training").sum() * step_h),
        gpuh_inf=float(_col(series, "gpus_busy_inference").sum() * step_h),
        gpuh_effective=float((busy * tf).sum() * step_h), tokens=tokens, weights=weights,
        backlog_gpu_hours_end=(float(series["backlog_gpu_hours"].iloc[-1]) if "backlog_gpu_hours" in series.columns
                               else None))


def step_flows(econ, heat_price_by_month: np.ndarray, t: RunTotals) -> dict[str, np.ndarray]:
    """Per-step money and carbon of the run under ``econ`` (an ``EconomicsConfig``): the energy flows of
    ``energy_flows`` plus heat delivered and sold, emissions and water [MWh, EUR, t, m3]."""
    flows = energy_flows(t.grid_kw, t.price_eur_per_mwh * econ.spot_price_factor, t.step_h,
                         ppa_share=econ.ppa_share, ppa_price_eur_per_mwh=econ.ppa_price_eur_per_mwh,
                         ppa_matching=econ.ppa_matching, energy_tax_eur_per_mwh=econ.energy_tax_eur_per_mwh,
                         grid_fee_eur_per_mwh=econ.grid_fee_eur_per_mwh)
    heat_rev = t.heat_mwh * heat_price_by_month[t.month_idx]
    em = emissions_t(flows["energy_mwh"], t.carbon_g_per_kwh, flows["ppa_matched_mwh"],
                     residual_mix_g_per_kwh=econ.residual_mix_g_per_kwh,
                     ppa_carbon_g_per_kwh=econ.ppa_carbon_g_per_kwh)
    return {**flows, "heat_delivered_mwh": t.heat_mwh, "heat_revenue_eur": heat_rev,
            "emissions_location_t": em["location_t"], "emissions_market_t": em["market_t"],
            "water_m3": t.water_m3, "water_cost_eur": t.water_m3 * econ.opex.water_price_eur_per_m3}
