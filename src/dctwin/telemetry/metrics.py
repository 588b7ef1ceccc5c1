"""Goodness of fit of a calibrated model, as ASHRAE Guideline 14-2014 defines it.

CV(RMSE) = sqrt(sum((m - p)^2) / (n - k)) / mean(m) * 100 and
NMBE = sum(m - p) / ((n - k) * mean(m)) * 100, with m measured, p predicted,
n points and k model parameters (k = 1 by the guideline's convention for
calibrated simulation). Acceptance (section 5.3.2.4): hourly data CV(RMSE) <= 30 %
and |NMBE| <= 10 %; monthly data CV(RMSE) <= 15 % and |NMBE| <= 5 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["GUIDELINE14_LIMITS", "cv_rmse_pct", "fit_table", "nmbe_pct"]

GUIDELINE14_LIMITS = {"hourly": (30.0, 10.0), "monthly": (15.0, 5.0)}  # (CV(RMSE) %, |NMBE| %)


def _valid(measured, predicted) -> tuple[np.ndarray, np.ndarray]:
    m, p = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    ok = np.isfinite(m) & np.isfinite(p)
    return m[ok], p[ok]


def cv_rmse_pct(measured, predicted, n_params: int = 1) -> float:
    """CV(RMSE) [%] of ``predicted`` against ``measured`` (NaN pairs skipped)."""
    m, p = _valid(measured, predicted)
    if len(m) <= n_params or m.mean() == 0:
        return float("nan")
    return float(np.sqrt(np.sum((m - p) ** 2) / (len(m) - n_params)) / m.mean() * 100.0)


def nmbe_pct(measured, predicted, n_params: int = 1) -> float:
    """NMBE [%]: positive when the model predicts less than was measured (the guideline's sign)."""
    m, p = _valid(measured, predicted)
    if len(m) <= n_params or m.mean() == 0:
        return float("nan")
    return float(np.sum(m - p) / ((len(m) - n_params) * m.mean()) * 100.0)


def _resample(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Means over hours or months of steps where both series exist (a partly missing period is dropped)."""
    g = frame.set_index("time").resample(rule)
    means, counts, sizes = g.mean(), g.count(), g.size()
    full = counts.eq(sizes, axis=0).all(axis=1)
    return means[full].dropna()


def fit_table(measured: pd.DataFrame, predicted: pd.DataFrame, n_params: int = 1) -> pd.DataFrame:
    """One row per compared quantity: CV(RMSE) and NMBE hourly and monthly, and whether Guideline 14 is met."""
    rows = []
    for name in [c for c in measured.columns if c != "time" and c in predicted.columns]:
        both = pd.DataFrame({"time": measured["time"], "m": measured[name].to_numpy(float),
                             "p": predicted[name].to_numpy(float)})
        both.loc[both["m"].isna() | both["p"].isna(), ["m", "p"]] = np.nan
        row = {"quantity": name, "n_steps": int(both["m"].notna().sum())}
        for period, rule in (("hourly", "1h"), ("monthly", "MS")):
            agg = _resample(both, rule)
            cv, nm = cv_rmse_pct(agg["m"], agg["p"], n_params), nmbe_pct(agg["m"], agg["p"], n_params)
            cv_max, nm_max = GUIDELINE14_LIMITS[period]
            judged = len(agg) > n_params and np.isfinite(cv) and np.isfinite(nm)
            row |= {f"{period}_n": len(agg), f"{period}_cv_rmse_pct": cv, f"{period}_nmbe_pct": nm,
                    f"{period}_meets_guideline14": bool(cv <= cv_max and abs(nm) <= nm_max) if judged else pd.NA}
        rows.append(row)
    out = pd.DataFrame(rows)
    for period in GUIDELINE14_LIMITS:  # NA: too few full hours or months to judge
        col = f"{period}_meets_guideline14"
        if col in out:
            out[col] = out[col].astype("boolean")
    return out
