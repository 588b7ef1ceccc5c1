"""Asset schedules over the horizon: purchases, refresh, straight-line depreciation, cost of capital, NPV.

Time runs in years from the simulation start. An asset bought at ``t0`` with
life ``L`` is replaced at ``t0 + L`` while inside the horizon (IT refresh); its
book value falls linearly to zero over ``L``. Cost of capital is the WACC on
the mean book value of each year, evaluated on a monthly grid. Cash flows for
NPV: purchases at the start of the year they happen in, operating flows at each year end, residual
book value at the horizon end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["asset_schedule", "discount_factors"]

_SUB = 12  # evaluation points per year (months)
_ITEM_COLUMNS = ("line", "category", "eur", "year_offset", "life_years")


def discount_factors(t_years: np.ndarray, rate: float) -> np.ndarray:
    """Present-value factor of a flow at ``t_years`` [years] at ``rate`` [1/year]."""
    return (1.0 + rate) ** (-np.asarray(t_years, dtype=float))


def asset_schedule(items: pd.DataFrame | Sequence[Mapping], horizon_years: int, wacc: float, rate: float,
                   refresh_price_factor: float = 1.0) -> dict:
    """Year-by-year capital figures for the capex ``items`` (see ``capex_items``).

    A refresh (IT bought again at the end of its life) costs ``refresh_price_factor``
    times the first purchase [-]. Purchases are paid at the start of the year
    they fall in (``period`` = floor of ``t_years``), the conservative side of
    a mid-year purchase; that is the timing of the cash-flow table and NPV.

    items: ``capex_items`` or its rows (``capex_rows``). Returns ``purchases`` (rows: line, category,
    eur, t_years, period, refresh), per-year arrays [EUR] ``depreciation``, ``cost_of_capital``,
    ``gross_facility``, ``gross_it`` (mean replacement value in service), ``residual`` (rows: line,
    category, eur at the horizon end) and ``pv_capex_eur``, ``pv_residual_eur``.
    """
    if isinstance(items, pd.DataFrame):
        items = items.to_dict("records")
    n = int(horizon_years)
    t_mid = (np.arange(n * _SUB) + 0.5) / _SUB  # monthly midpoints [years]
    dep = np.zeros(n)
    coc = np.zeros(n)
    gross = {"facility": np.zeros(n), "it": np.zeros(n)}
    buys: list[dict] = []
    resid: list[dict] = []
    for line, category, eur0, offset, life in ((r[c] for c in _ITEM_COLUMNS) for r in items):
        life = float(life)
        t0 = max(float(offset), 0.0)
        k = 0
        while t0 + k * life < n:
            tk = t0 + k * life
            eur = float(eur0) * (refresh_price_factor if k > 0 and category == "it" else 1.0)
            buys.append({"line": line if k == 0 else f"{line}__refresh", "category": category,
                             "eur": eur, "t_years": tk, "period": int(np.floor(tk)), "refresh": k > 0})
            age = t_mid - tk
            alive = (age >= 0) & (age < life)
            book = np.where(alive, eur * (1.0 - age / life), 0.0)
            dep += np.where(alive, eur / life / _SUB, 0.0).reshape(n, _SUB).sum(axis=1)
            coc += (wacc * book / _SUB).reshape(n, _SUB).sum(axis=1)
            gross[category] += np.where(alive, eur / _SUB, 0.0).reshape(n, _SUB).sum(axis=1)
            age_end = n - tk
            if age_end < life:
                resid.append({"line": f"{line}__residual", "category": category,
                                  "eur": eur * (1.0 - age_end / life)})
            k += 1
    pv_capex = float((np.array([b["eur"] for b in buys], dtype=float)
                      * discount_factors(np.array([b["period"] for b in buys], dtype=np.int64), rate)).sum())
    pv_resid = float(np.array([r["eur"] for r in resid], dtype=float).sum()) * float(
        discount_factors(np.array([n]), rate)[0])
    return {"purchases": buys, "depreciation": dep, "cost_of_capital": coc, "gross_facility": gross["facility"],
            "gross_it": gross["it"], "residual": resid, "pv_capex_eur": pv_capex, "pv_residual_eur": pv_resid}
