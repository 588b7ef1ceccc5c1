"""The sweep report: one self-contained HTML file (plotly bundled, no CDN) and a PNG tornado."""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

__all__ = ["write_sweep_report"]


def _tornado(sens: pd.DataFrame, kpi: str) -> go.Figure:
    rows = sens[sens["kpi"] == kpi].iloc[::-1]
    fig = go.Figure()
    base = rows["low"].min() if len(rows) else 0.0
    fig.add_bar(y=rows["driver"], x=rows["high"] - rows["low"], base=rows["low"], orientation="h",
                hovertext=[f"{a} -> {b}" for a, b in zip(rows["at_low"], rows["at_high"], strict=True)])
    fig.update_layout(title=f"What moves {kpi}", xaxis_title=kpi, height=120 + 40 * len(rows),
                      margin=dict(l=160, r=30, t=50, b=40))
    fig.add_vline(x=base, line_width=0)
    return fig


def _distribution(runs: pd.DataFrame, kpi: str) -> go.Figure:
    fig = go.Figure()
    for point_id, group in runs.groupby("point_id", sort=True):
        fig.add_box(y=group[kpi], name=point_id, boxpoints="all")
    fig.update_layout(title=f"{kpi} across repetitions, per design point", yaxis_title=kpi, height=420)
    return fig


def write_sweep_report(folder: Path, runs: pd.DataFrame, summary: pd.DataFrame, sens: pd.DataFrame) -> Path:
    """Write ``report.html`` (and ``tornado.png``) into the sweep folder, atomically."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>dctwin sweep</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
             "</style></head><body>",
             f"<h1>Sweep {html.escape(folder.name)}</h1>",
             f"<p>{len(runs)} runs finished.</p>"]
    first = True
    kpis = [k for k in ("pue", "eur_per_gpu_hour_used", "goodput_frac", "tco_eur", "erf") if k in runs.columns]
    for kpi in kpis:
        figs = [("distribution", _distribution(runs, kpi))]
        if len(sens) and (sens["kpi"] == kpi).any():
            figs.append(("tornado", _tornado(sens, kpi)))
        for what, fig in figs:  # a div id of its own name: plotly's default is a random uuid (same sweep, same bytes)
            parts.append(fig.to_html(full_html=False, include_plotlyjs=True if first else False,
                                     div_id=f"fig-{kpi}-{what}"))
            first = False
    if len(summary):
        wide = summary[summary["kpi"].isin(kpis)]
        parts.append("<h2>P10 / P50 / P90 per design point</h2>")
        parts.append(wide.to_html(index=False, float_format=lambda v: f"{v:,.4g}", escape=True))
    if len(sens):
        parts.append("<h2>Sensitivity</h2>")
        parts.append(sens.to_html(index=False, float_format=lambda v: f"{v:,.4g}", escape=True))
    parts.append("</body></html>")
    out = folder / "report.html"
    tmp = folder / f".report.html.tmp-{os.getpid()}"
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)
    _tornado_png(folder, sens)
    return out


def _tornado_png(folder: Path, sens: pd.DataFrame) -> None:
    if sens.empty:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kpi = "pue" if (sens["kpi"] == "pue").any() else sens["kpi"].iloc[0]
    rows = sens[sens["kpi"] == kpi].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 1 + 0.5 * len(rows)))
    ax.barh(rows["driver"], rows["high"] - rows["low"], left=rows["low"], color="#4878a8")
    ax.set_xlabel(kpi)
    ax.set_title(f"Sensitivity of {kpi}")
    fig.tight_layout()
    fig.savefig(folder / "tornado.png", dpi=120)
    plt.close(fig)
