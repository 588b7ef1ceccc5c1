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
from dctwin.accounting.energy import FLOWS, energy_costs, energy_quantities

__all__ = ["HOURS_PER_YEAR", "RunTotals", "run_totals", "step_flows", "step_sums"]

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


def step_flows(econ, heat_price_by_month: np.ndarray, t: RunTotals, reuse: dict | None = None) -> dict[str, np.ndarray]:
    """Per-step money and carbon of the run under ``econ`` (an ``EconomicsConfig``): the energy flows of
    ``energy_flows`` plus heat delivered and sold, emissions and water [MWh, EUR, t, m3].

    reuse: a dict kept across calls on one run (the investor band's draws): the flows that neither the spot
    price nor the heat price enter are computed once per distinct value of the arguments they read (the same
    arithmetic either way, so every value is the same).
    """
    args = (econ.ppa_share, econ.ppa_price_eur_per_mwh, econ.ppa_matching, econ.energy_tax_eur_per_mwh,
            econ.grid_fee_eur_per_mwh, econ.residual_mix_g_per_kwh, econ.ppa_carbon_g_per_kwh,
            econ.opex.water_price_eur_per_m3)
    fixed = reuse.get(args) if reuse is not None else None
    if fixed is None:
        fixed = _unpriced_flows(t, *args)
        if reuse is not None:  # kept with their sums (``step_sums``)
            reuse[args] = fixed
            sums = reuse.setdefault("sums", {})
            for v in (*fixed[0].values(), *fixed[1].values(), fixed[2], t.heat_mwh, t.water_m3):
                sums[id(v)] = (v, float(v.sum()))
    q, em, water_cost = fixed
    flows = {**q, **energy_costs(q, t.price_eur_per_mwh * econ.spot_price_factor)}
    heat_rev = t.heat_mwh * heat_price_by_month[t.month_idx]
    return {**{k: flows[k] for k in FLOWS}, "heat_delivered_mwh": t.heat_mwh, "heat_revenue_eur": heat_rev,
            "emissions_location_t": em["location_t"], "emissions_market_t": em["market_t"],
            "water_m3": t.water_m3, "water_cost_eur": water_cost}


def _unpriced_flows(t: RunTotals, ppa_share: float, ppa_price: float, ppa_matching: str, tax: float, fee: float,
                    residual_mix: float, ppa_carbon: float, water_price: float) -> tuple[dict, dict, np.ndarray]:
    """Energy quantities and fixed-price costs, emissions and the water cost of the run (no spot or heat price)."""
    q = energy_quantities(t.grid_kw, t.step_h, ppa_share=ppa_share, ppa_price_eur_per_mwh=ppa_price,
                          ppa_matching=ppa_matching, energy_tax_eur_per_mwh=tax, grid_fee_eur_per_mwh=fee)
    em = emissions_t(q["energy_mwh"], t.carbon_g_per_kwh, q["ppa_matched_mwh"], residual_mix_g_per_kwh=residual_mix,
                     ppa_carbon_g_per_kwh=ppa_carbon)
    return q, em, t.water_m3 * water_price


def step_sums(steps: dict[str, np.ndarray], reuse: dict | None = None) -> dict[str, float]:
    """Each flow summed over the run; the sums ``step_flows`` kept in ``reuse`` are taken, not recomputed."""
    known = reuse.get("sums", {}) if reuse is not None else {}
    out = {}
    for k, v in steps.items():
        hit = known.get(id(v))
        out[k] = hit[1] if hit is not None and hit[0] is v else float(v.sum())
    return out
