"""``run_uncertainty``: sample, evaluate, and summarise an uncertainty study into the sweep folder.

Writes ``samples.parquet`` (one row per sample: input values by name, then
KPIs), ``summary.parquet`` (P10/P50/P90 per KPI), ``sobol.parquet`` (first-
and total-order Sobol' indices with 95 % confidence, Sobol' design only),
``tornado.parquet`` (NPV with each input at its P10 and P90, the others at
their P50; 2 x inputs + 1 extra evaluations), ``study.json`` (design, engine, timings) and ``report.html``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.config import load_scenario
from dctwin.config.load import deep_merge
from dctwin.errors import ScenarioError
from dctwin.results.run_dir import write_table
from dctwin.sweep.distributions import Uncertainty
from dctwin.sweep.uncertainty import OUTPUT_KPIS, evaluate, is_finance_only, sample_table, tornado_points

__all__ = ["run_uncertainty", "percentile_table", "sobol_table", "tornado_table"]

SOBOL_KPIS = ("npv_eur", "lcoc_eur_per_gpu_hour", "eur_per_gpu_hour_used", "irr_project", "pue",
              "emissions_market_t")


def percentile_table(frame: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    """P10/P50/P90 (no interpolation, so 'never' paybacks stay infinite), mean and count per KPI."""
    rows = []
    for k in kpis:
        v = frame[k].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        if v.size == 0:
            continue
        p10, p50, p90 = np.percentile(v, [10, 50, 90], method="inverted_cdf")
        finite = v[np.isfinite(v)]
        rows.append({"kpi": k, "samples": int(v.size), "p10": float(p10), "p50": float(p50), "p90": float(p90),
                     "mean": float(finite.mean()) if finite.size == v.size else float("nan"),
                     "share_finite": float(finite.size / v.size)})
    return pd.DataFrame(rows, columns=["kpi", "samples", "p10", "p50", "p90", "mean", "share_finite"])


def sobol_table(frame: pd.DataFrame, problem: dict, seed: int) -> pd.DataFrame:
    """First- (S1) and total-order (ST) Sobol' indices of each KPI with all-finite samples (SALib)."""
    from SALib.analyze import sobol

    rows = []
    for k in (k for k in SOBOL_KPIS if k in frame.columns):
        y = frame[k].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        for j, name in enumerate(problem["names"]):
            rows.append({"kpi": k, "input": name, "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                         "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j])})
    return pd.DataFrame(rows, columns=["kpi", "input", "S1", "S1_conf", "ST", "ST_conf"])


def tornado_table(points: pd.DataFrame, kpis: pd.DataFrame, kpi: str = "npv_eur") -> pd.DataFrame:
    """``kpi`` with each input at its P10 and at its P90 (the others at P50), widest swing first."""
    pts = points.assign(y=kpis[kpi].to_numpy(dtype=float))
    mid = float(pts.loc[pts["at"] == "p50", "y"].iloc[0])
    lo, hi = pts[pts["at"] == "p10"].set_index("input"), pts[pts["at"] == "p90"].set_index("input")
    t = pd.DataFrame({"kpi": kpi, "input": lo.index, "input_p10": lo["value"].to_numpy(),
                      "input_p90": hi.loc[lo.index, "value"].to_numpy(), "at_low": lo["y"].to_numpy(),
                      "at_high": hi.loc[lo.index, "y"].to_numpy(), "at_p50": mid})
    t["swing"] = (t["at_high"] - t["at_low"]).abs()
    return t.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def run_uncertainty(unc: Uncertainty, base: str, overrides: dict, folder: Path, source: str,
                    workers: int | None = None, ray_address: str | None = None,
                    on_progress: Callable[[int, int], None] = lambda done, total: None) -> dict:
    """Run the study; return its tables by name (``samples``, ``summary``, ``sobol``, ``tornado``) and notes."""
    try:
        base_doc = deep_merge(load_scenario(base).model_dump(mode="json"), overrides)
    except ScenarioError as exc:
        raise ScenarioError(f"base scenario: {exc}", file=source, field="base", value=base[:200]) from None
    t0 = time.perf_counter()
    samples, docs, problem = sample_table(base_doc, unc, source)
    points, t_docs = tornado_points(base_doc, unc, source)
    folder.mkdir(parents=True, exist_ok=True)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        on_progress(done[0], len(docs))

    finance_only = is_finance_only(unc)
    every, notes = evaluate(base_doc, docs + t_docs, finance_only, folder, workers or os.cpu_count() or 1,
                            ray_address, tick)
    kpis, t_kpis = every.iloc[:len(docs)].reset_index(drop=True), every.iloc[len(docs):].reset_index(drop=True)
    table = pd.concat([samples, kpis], axis=1)
    out_kpis = [c for c in kpis.columns if c in OUTPUT_KPIS or c.startswith("eur_per_mtok__")]
    tables = {"samples": table, "summary": percentile_table(table, out_kpis),
              "sobol": sobol_table(table, problem, unc.seed) if unc.method == "sobol" else pd.DataFrame(
                  columns=["kpi", "input", "S1", "S1_conf", "ST", "ST_conf"]),
              "tornado": tornado_table(points, t_kpis)}
    for name, frame in tables.items():
        write_table(frame, folder / f"{name}.parquet")
    notes.update({"method": unc.method, "samples": len(docs), "inputs": [i.model_dump() for i in unc.inputs],
                  "seed": unc.seed, "wall_s": time.perf_counter() - t0})
    (folder / "study.json").write_text(json.dumps(notes, indent=1, default=str, allow_nan=True), encoding="utf-8")
    from dctwin.sweep.study_report import write_study_report

    write_study_report(folder, tables, notes)
    return {"tables": tables, "notes": notes}


def fmt_range(row: pd.Series, scale: float = 1.0, digits: int = 3) -> str:
    """'P50 (P10 to P90)' for a summary row; 'never' for an infinite payback."""
    def one(v: float) -> str:
        return "never" if math.isinf(v) else f"{v / scale:,.{digits}g}"
    return f"{one(row['p50'])} ({one(row['p10'])} to {one(row['p90'])})"
