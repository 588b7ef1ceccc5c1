"""Figures that overlay several runs, for ``dctwin compare`` and the dashboard."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go

from dctwin.report.data import Missing, RunData
from dctwin.report.figures import LAYOUT, white_figures
from dctwin.report.series import resample

__all__ = ["COMPARE_FIGURES", "build_compare_figures"]


def _need_any(runs: list[RunData], fn: Callable[[RunData], go.BaseTraceType | list]) -> list:
    traces, reasons = [], []
    for r in runs:
        try:
            out = fn(r)
        except Missing as exc:
            reasons.append(f"{r.name}: {exc}")
            continue
        traces += out if isinstance(out, list) else [out]
    if not traces:
        raise Missing("; ".join(reasons) or "no run has the data")
    return traces


def daily_pue(runs: list[RunData]) -> go.Figure:
    """Daily mean PUE of each run."""
    def trace(r: RunData):
        f = resample(r, ("pue",), "1D")
        return go.Scatter(x=f.index, y=f["pue"], name=r.label + f" ({r.name})", mode="lines")
    fig = go.Figure(_need_any(runs, trace))
    fig.update_layout(**LAYOUT, title="Daily mean PUE", yaxis_title="PUE [kWh/kWh]")
    return fig


def daily_utilisation(runs: list[RunData]) -> go.Figure:
    """Daily mean GPU utilisation of each run."""
    def trace(r: RunData):
        f = resample(r, ("utilisation",), "1D")
        return go.Scatter(x=f.index, y=f["utilisation"], name=r.label + f" ({r.name})", mode="lines")
    fig = go.Figure(_need_any(runs, trace))
    fig.update_layout(**LAYOUT, title="Daily mean GPU utilisation", yaxis_title="GPU utilisation [0-1]",
                      yaxis_range=[0, 1])
    return fig


def monthly_energy(runs: list[RunData]) -> go.Figure:
    """Mean IT power and heat delivered per calendar month [MW], grouped by run.

    Means, not sums: a run that covers a week of January sits beside a full January on equal terms.
    """
    def traces(r: RunData):
        cols = tuple(c for c in ("it_power_kw", "heat_delivered_kw")
                     if c in r.table("timeseries", ("it_power_kw",)).columns)
        m = resample(r, cols, "1h").resample("MS").mean()
        x = [d.strftime("%Y-%m") for d in m.index]
        return [go.Bar(x=x, y=m[c].to_numpy() / 1000.0, name=f"{r.name}: {label}")
                for c, label in (("it_power_kw", "IT"), ("heat_delivered_kw", "heat delivered")) if c in cols]
    fig = go.Figure(_need_any(runs, traces))
    fig.update_layout(**LAYOUT, title="Mean power by month [MW] (fair across runs of different spans)",
                      barmode="group", xaxis_title="month", yaxis_title="MW")
    fig.update_xaxes(type="category", categoryorder="category ascending")
    return fig


def wait_cdf(runs: list[RunData]) -> go.Figure:
    """Share of jobs that waited at most x hours."""
    def trace(r: RunData):
        jobs = r.table("jobs", ("wait_s",))
        w = jobs["wait_s"].to_numpy(dtype=np.float64)
        w = w[np.isfinite(w)] / 3600.0
        if len(w) == 0:
            raise Missing("no job in the jobs table has started")
        share = np.linspace(0.0, 1.0, 401)          # 400 quantiles keep the figure small for 10^5+ jobs
        return go.Scatter(x=np.maximum(np.quantile(w, share), 1e-3), y=share, name=r.name, mode="lines")
    fig = go.Figure(_need_any(runs, trace))
    fig.update_layout(**LAYOUT, title="Queue wait, cumulative share of jobs", xaxis_type="log",
                      xaxis_title="wait [h]", yaxis_title="share of jobs")
    return fig


def cost_lines(runs: list[RunData]) -> go.Figure:
    """Cost lines of each run over its finance horizon [M EUR], one labelled row per line."""
    def trace(r: RunData):
        c = r.table("cost_lines", ("line", "eur"))
        names = c["line"].astype(str).str.replace("__", " / ", regex=False).str.replace("_", " ", regex=False)
        return go.Bar(y=names, x=c["eur"].to_numpy(dtype=np.float64) / 1e6, orientation="h", name=r.name)
    traces = _need_any(runs, trace)
    rows = max(len(t.y) for t in traces)
    fig = go.Figure(traces)
    fig.update_layout(**{**LAYOUT, "height": max(420, 14 * rows * len(traces) + 160)},
                      title="Cost lines over each run's finance horizon [M EUR] (credits negative)",
                      barmode="group", xaxis_title="M EUR")
    fig.update_yaxes(automargin=True, dtick=1)
    return fig


COMPARE_FIGURES: dict[str, tuple[str, Callable[[list[RunData]], go.Figure]]] = {
    "daily_pue": ("PUE", daily_pue),
    "monthly_energy": ("Mean power by month", monthly_energy),
    "daily_utilisation": ("GPU utilisation", daily_utilisation),
    "wait_cdf": ("Queue wait", wait_cdf),
    "cost_lines": ("Costs", cost_lines),
}


def build_compare_figures(runs: list[RunData]) -> tuple[dict[str, tuple[str, go.Figure]], dict[str, str]]:
    figs, notes = {}, {}
    with white_figures():
        for key, (title, fn) in COMPARE_FIGURES.items():
            try:
                figs[key] = (title, fn(runs))
            except Missing as exc:
                notes[key] = f"{title}: not drawn, {exc}."
    return figs, notes
