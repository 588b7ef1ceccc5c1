"""The cash-flow table of a horizon and its returns: NPV, IRR, payback, debt service cover.

Timing (one convention for table, NPV and IRR): period 0 is the simulation
start; period k >= 1 is the end of year k. A purchase is paid at the start of
the year it falls in (period ``floor(t_years)``); operating flows, tax and
debt service of year k at period k; the residual value at period N. Signs:
money in is positive, money out negative.

Tax: ``corporate_tax_rate`` x (EBITDA - depreciation - interest), losses
carried forward without limit (Sweden); the residual value is sold at its
market value, the gap to book value is a taxable gain or a deductible loss.
The project (unlevered) flows pay tax without interest; the equity flows
pay it after interest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["cash_flow_table", "debt_columns", "debt_schedule", "irr", "monthly_cash_flows", "npv", "payback_years",
           "returns", "row_sum"]

OPERATING = ("compute_revenue_eur", "heat_revenue_eur", "energy_eur", "staff_eur", "water_eur",
             "insurance_eur", "maintenance_eur")
CAPITAL = ("capex_facility_eur", "capex_it_eur", "capex_it_refresh_eur")


def npv(rate: float, flows: np.ndarray) -> float:
    """Net present value of ``flows`` at periods 0..N [EUR] at ``rate`` [1/period]."""
    flows = np.asarray(flows, dtype=float)
    return float((flows * (1.0 + rate) ** -np.arange(flows.size)).sum())


RATE_RANGE = (-0.99, 10.0)  # rates an IRR is looked for in [1/period]: -99 % to 1,000 %


def irr(flows: np.ndarray) -> float:
    """Internal rate of return of ``flows`` at periods 0..N [1/period]; NaN when NPV has no root in ``RATE_RANGE``.

    Of several roots, the one nearest zero. NPV(r) = sum_k flows[k] x^k with x = 1/(1 + r), a polynomial in x:
    its roots are the eigenvalues of its companion matrix (``numpy.roots``, LAPACK). A real matrix's real
    eigenvalues come back with an imaginary part of exactly zero, so only those are rates; a complex pair never
    is. numpy is imported by every run already, where a root finder from scipy.optimize costs ~0.35 s of start-up.
    """
    flows = np.asarray(flows, dtype=float)
    if flows.size < 2 or not (np.any(flows > 0) and np.any(flows < 0)):
        return float("nan")
    x = np.roots(flows[::-1]).astype(complex)  # highest power first: flows[N] .. flows[0]
    real = x.real[(x.imag == 0.0) & (x.real > 0.0)]
    rates = 1.0 / real - 1.0
    rates = rates[(rates >= RATE_RANGE[0]) & (rates <= RATE_RANGE[1])]
    return float(rates[np.argmin(np.abs(rates))]) if rates.size else float("nan")


def payback_years(flows: np.ndarray) -> float:
    """Years until cumulative ``flows`` (periods 0..N) turn non-negative for good, interpolated within
    the year [years]; ``inf`` if they do not within the horizon."""
    cum = np.cumsum(np.asarray(flows, dtype=float))
    if cum[-1] < 0:
        return float("inf")
    neg = np.nonzero(cum < 0)[0]
    if neg.size == 0:
        return 0.0
    k = int(neg[-1]) + 1  # first period after the last negative cumulative
    return float(k - 1 + (-cum[k - 1]) / (cum[k] - cum[k - 1]))


def debt_schedule(principal_eur: float, rate: float, tenor_years: int, horizon_years: int) -> pd.DataFrame:
    """An annuity loan drawn at period 0: interest and principal paid in years 1..tenor [EUR, positive]."""
    return pd.DataFrame(debt_columns(principal_eur, rate, tenor_years, horizon_years))


def debt_columns(principal_eur: float, rate: float, tenor_years: int, horizon_years: int) -> dict[str, np.ndarray]:
    """``debt_schedule``'s columns as arrays, periods 0..N."""
    n = int(horizon_years)
    interest, repay = np.zeros(n + 1), np.zeros(n + 1)
    if principal_eur > 0:
        pay = principal_eur / tenor_years if rate == 0 else principal_eur * rate / (1 - (1 + rate) ** -tenor_years)
        balance = principal_eur
        for k in range(1, min(tenor_years, n) + 1):
            interest[k] = balance * rate
            repay[k] = pay - interest[k] if k < tenor_years else balance
            balance -= repay[k]
        if tenor_years > n:  # a balloon at the horizon end: the loan is repaid when the assets are sold
            repay[n] += balance
    draw = np.zeros(n + 1)
    draw[0] = principal_eur
    return {"debt_drawdown_eur": draw, "debt_interest_eur": interest, "debt_principal_eur": repay}


def _tax(taxable: np.ndarray, rate: float) -> np.ndarray:
    """Tax paid per period on ``taxable`` profit with losses carried forward [EUR, positive]."""
    out = np.zeros_like(taxable)
    loss = 0.0
    for k, profit in enumerate(taxable):
        base = profit - loss
        if base > 0:
            out[k], loss = rate * base, 0.0
        else:
            loss = -base
    return out


def row_sum(columns: Mapping[str, np.ndarray], names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Element-wise sum of the named columns, added left to right."""
    total = np.asarray(columns[names[0]], dtype=float)
    for name in names[1:]:
        total = total + columns[name]
    return total


def cash_flow_table(lines: Mapping[str, np.ndarray], depreciation_eur: np.ndarray, residual_book_eur: float,
                    residual_market_eur: float, rate: float, tax_rate: float,
                    debt: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The yearly cash-flow table, periods 0..N, as columns (``year`` first, then ``lines``'s, then the rest).

    lines: per period the signed ``CAPITAL`` and ``OPERATING`` columns [EUR];
    depreciation_eur: book depreciation of years 1..N [EUR]; residual_*_eur: book and market value of
    the assets at the horizon end [EUR]; rate: discount rate [1/year]; tax_rate [-]; debt: from
    ``debt_columns`` (or ``debt_schedule``).
    """
    n = len(lines[CAPITAL[0]]) - 1
    t: dict[str, np.ndarray] = {"year": np.arange(n + 1), **{k: np.asarray(v, dtype=float) for k, v in lines.items()}}
    t["ebitda_eur"] = ebitda = row_sum(t, OPERATING)
    t["depreciation_eur"] = np.concatenate([[0.0], depreciation_eur])
    t["residual_value_eur"] = np.zeros(n + 1)
    t["residual_value_eur"][n] = residual_market_eur
    gain = np.zeros(n + 1)
    gain[n] = residual_market_eur - residual_book_eur
    ebit = ebitda - t["depreciation_eur"] + gain
    t["tax_eur"] = -_tax(ebit, tax_rate)
    t["project_cash_flow_eur"] = row_sum(t, CAPITAL) + ebitda + t["tax_eur"] + t["residual_value_eur"]
    t["cumulative_project_eur"] = np.cumsum(t["project_cash_flow_eur"])
    t["discount_factor"] = (1.0 + rate) ** -t["year"].astype(float)
    t["pv_project_eur"] = t["project_cash_flow_eur"] * t["discount_factor"]
    for col, v in debt.items():
        t[col] = np.asarray(v)
    interest = t["debt_interest_eur"]
    tax_levered = -_tax(ebit - interest, tax_rate)
    service = interest + t["debt_principal_eur"]
    t["equity_cash_flow_eur"] = (t["project_cash_flow_eur"] - t["tax_eur"] + tax_levered + t["debt_drawdown_eur"]
                                 - service)
    cfads = ebitda + tax_levered + t["capex_it_refresh_eur"]
    t["dscr"] = np.divide(cfads, service, out=np.full(n + 1, np.nan), where=service > 0)
    return t


def returns(table: Mapping[str, np.ndarray]) -> dict[str, float]:
    """NPV [EUR], IRRs [1/year], payback and discounted payback [years], minimum DSCR [-] of a cash-flow table
    (its columns: a DataFrame or ``cash_flow_table``'s mapping).

    ``npv_eur`` is the sum of ``pv_project_eur``, i.e. the project flows after tax at the table's discount rate.
    """
    proj = np.asarray(table["project_cash_flow_eur"], dtype=float)
    eq = np.asarray(table["equity_cash_flow_eur"], dtype=float)
    dscr = np.asarray(table["dscr"], dtype=float)
    return {
        "npv_eur": float(np.asarray(table["pv_project_eur"], dtype=float).sum()),
        "irr_project": irr(proj),
        "irr_equity": irr(eq),
        "payback_years": payback_years(proj),
        "discounted_payback_years": payback_years(table["pv_project_eur"]),
        "dscr_min": float(np.nanmin(dscr)) if np.isfinite(dscr).any() else float("nan"),
    }


def monthly_cash_flows(table: pd.DataFrame, energy_share: np.ndarray, heat_share: np.ndarray,
                       first_month: int = 1) -> pd.DataFrame:
    """The yearly table spread over months 0..12N (undiscounted; each year's months sum to its row).

    Capital at month 12k (period k), tax at each year's last month, the residual at month 12N; energy and
    heat of a year follow ``energy_share`` / ``heat_share`` by calendar month of year (12 shares summing to
    1, the run's seasonal shape, January first), the other operating flows 1/12 a month; ``first_month`` is
    the calendar month (1-12) of the horizon's first month.
    """
    n = len(table) - 1
    m = np.arange(12 * n + 1)
    out = pd.DataFrame({"month": m, "year": np.ceil(m / 12).astype(int)})
    month_of_year = np.where(m == 0, 0, (m - 1 + first_month - 1) % 12)
    for col in (*CAPITAL, "tax_eur", "residual_value_eur"):
        v = np.zeros(m.size)
        v[::12] = table[col].to_numpy()  # period k -> month 12k
        out[col] = v
    shares = {"energy_eur": energy_share, "heat_revenue_eur": heat_share}
    for col in OPERATING:
        share = np.asarray(shares.get(col, np.full(12, 1.0 / 12)), dtype=float)
        yearly = table[col].to_numpy()[out["year"].to_numpy()]
        out[col] = np.where(m == 0, 0.0, yearly * share[month_of_year])
    flows = [*CAPITAL, *OPERATING, "tax_eur", "residual_value_eur"]
    out["project_cash_flow_eur"] = out[flows].sum(axis=1)
    out["cumulative_project_eur"] = out["project_cash_flow_eur"].cumsum()
    return out
