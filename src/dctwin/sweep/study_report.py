"""The report of an uncertainty study: one self-contained HTML file (plotly bundled, no CDN).

First screen: what an investor asks (NPV, IRR, payback, cost per GPU-hour and
per million tokens), each as P50 with its P10-P90 range; then the NPV
distribution, the Sobol' indices and the tornado on NPV, and the inputs.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from dctwin.results.schema import lookup

__all__ = ["write_study_report", "investor_rows"]

INVESTOR = (("npv_eur", 1e6, "EUR million"), ("irr_project", 0.01, "%/year"), ("payback_years", 1.0, "years"),
            ("lcoc_eur_per_gpu_hour", 1.0, "EUR/GPU-h"), ("eur_per_gpu_hour_used", 1.0, "EUR/GPU-h"))


def _label(kpi: str) -> str:
    f = lookup(kpi, "kpis")
    return f.label if f else kpi


def _num(v: float, scale: float) -> str:
    if math.isnan(v):
        return "n/a"
    return "not within horizon" if math.isinf(v) else f"{v / scale:,.3g}"


def investor_rows(summary: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(label, P50, P10 to P90, unit) of the investor figures present in ``summary``."""
    by = summary.set_index("kpi")
    rows = []
    mtok = [(k, 1.0, "EUR per million tokens") for k in by.index if k.startswith("eur_per_mtok__")]
    for k, scale, unit in (*INVESTOR, *mtok):
        if k in by.index:
            r = by.loc[k]
            rows.append((_label(k).replace("{svc}", k.split("__")[-1]), _num(r["p50"], scale),
                         f"{_num(r['p10'], scale)} to {_num(r['p90'], scale)}", unit))
    return rows


def _bars(frame: pd.DataFrame, title: str, xlabel: str) -> go.Figure:
    fig = go.Figure()
    for col in ("S1", "ST"):
        fig.add_bar(y=frame["input"], x=frame[col], name=col, orientation="h",
                    error_x={"type": "data", "array": frame[f"{col}_conf"]})
    fig.update_layout(title=title, xaxis_title=xlabel, barmode="group", height=160 + 40 * len(frame),
                      margin={"l": 200, "r": 30, "t": 50, "b": 40})
    return fig


def _tornado(t: pd.DataFrame) -> go.Figure:
    rows = t.iloc[::-1]
    lo = rows[["at_low", "at_high"]].min(axis=1) / 1e6
    hi = rows[["at_low", "at_high"]].max(axis=1) / 1e6
    text = [f"{n}: {a:,.4g} -> {b:,.4g}" for n, a, b in zip(rows["input"], rows["input_p10"], rows["input_p90"],
                                                           strict=True)]
    fig = go.Figure(go.Bar(y=rows["input"], x=hi - lo, base=lo, orientation="h", hovertext=text))
    fig.add_vline(x=float(t["at_p50"].iloc[0]) / 1e6, line_dash="dot")
    fig.update_layout(title="Tornado on NPV: each input at its P10 and P90, the others at their P50",
                      xaxis_title="Net present value [EUR million]", height=160 + 40 * len(rows),
                      margin={"l": 200, "r": 30, "t": 50, "b": 40})
    return fig


def write_study_report(folder: Path, tables: dict[str, pd.DataFrame], notes: dict) -> Path:
    """Write ``report.html`` into the study folder, atomically."""
    summary, sobol, samples = tables["summary"], tables["sobol"], tables["samples"]
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>dctwin uncertainty study</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px}"
             ".big td{font-size:18px}</style></head><body>",
             f"<h1>Uncertainty study {esc(folder.name)}</h1>",
             f"<p>{notes['samples']} samples ({esc(notes['method'])} design, seed {notes['seed']}) over "
             f"{len(notes['inputs'])} uncertain inputs; engine {esc(str(notes['engine']))}; physics "
             f"{'simulated once and reused (finance-only inputs)' if notes['physics_reused'] else 'run per sample'}."
             "</p><h2>For an investor: P50 and P10-P90 range</h2><table class='big'>"
             "<tr><th>figure</th><th>P50</th><th>P10 to P90</th><th>unit</th></tr>"]
    for label, p50, rng, unit in investor_rows(summary):
        parts.append(f"<tr><td>{esc(label)}</td><td>{esc(p50)}</td><td>{esc(rng)}</td><td>{esc(unit)}</td></tr>")
    parts.append("</table><p>Costs per GPU-hour and per million tokens include the whole cost of the site over "
                 "the horizon (capex, IT refresh, energy, staff, insurance, maintenance and cost of capital, "
                 "less heat sold and residual value); tokens carry the inference share by GPU-hours. They exclude "
                 "sales, software licences, model development and margin.</p>")
    figs = []
    if "npv_eur" in samples:
        fig = go.Figure(go.Histogram(x=samples["npv_eur"] / 1e6, nbinsx=40))
        fig.update_layout(title="Net present value across samples", xaxis_title="NPV [EUR million]",
                          yaxis_title="samples", height=360)
        figs.append(fig)
    if len(sobol) and (sobol["kpi"] == "npv_eur").any():
        figs.append(_bars(sobol[sobol["kpi"] == "npv_eur"], "Sobol' indices of NPV (first order S1, total ST)",
                          "share of NPV variance [-]"))
    if len(tables["tornado"]):
        figs.append(_tornado(tables["tornado"]))
    for i, fig in enumerate(figs):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"fig-{i}"))  # not a random uuid
    show = summary.assign(kpi=summary["kpi"].map(_label))
    parts += ["<h2>All outputs</h2>", show.to_html(index=False, float_format=lambda v: f"{v:,.4g}"),
              "<h2>Sobol' indices</h2>", sobol.to_html(index=False, float_format=lambda v: f"{v:.3f}"),
              "<h2>Uncertain inputs</h2>", pd.DataFrame(notes["inputs"]).to_html(index=False),
              "</body></html>"]
    out = folder / "report.html"
    tmp = folder / f".report.html.tmp-{os.getpid()}"
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)
    return out
