"""The interactive figures of one run's report (plotly).

Each builder takes a ``RunData`` and returns a plotly figure, or raises
``Missing`` when the run lacks a table or column it needs; ``build_figures``
collects the figures and the notes for those that could not be drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dctwin.report.data import Missing, RunData
from dctwin.report.operator import job_timeline
from dctwin.report.racks import rack_heatmap
from dctwin.report.series import (
    INSIDE_IT,
    cooling_columns,
    energy_mwh,
    loss_columns,
    peak_week,
    periods,
    resample,
    services,
    slowdown,
    step_h,
)

__all__ = ["FIGURES", "Figure", "LAYOUT", "TEMPLATE", "build_figures", "white_figures"]

TEMPLATE = "plotly_white"  # every figure's plotly template, taken when the figure is made (``white_figures``)
LAYOUT = {"margin": {"l": 60, "r": 30, "t": 50, "b": 50}, "height": 420,
          "font": {"family": "system-ui, sans-serif", "size": 12}}


@contextmanager
def white_figures() -> Iterator[None]:
    """Figures made inside start from ``TEMPLATE`` (plotly's default is set, then restored): each takes the
    template once when it is made, where naming it in ``update_layout`` deep-copies and validates the whole
    template again per figure (~0.3 s CPU of a report)."""
    import plotly.io as pio

    before = pio.templates.default
    pio.templates.default = TEMPLATE
    try:
        yield
    finally:
        pio.templates.default = before


def _pretty(col: str) -> str:
    return col.removesuffix("_kw").removesuffix("_loss").replace("_", " ")


def sankey(run: RunData) -> go.Figure:
    """Energy flow over the run [MWh]: grid -> IT, power-chain losses, cooling, heat pumps -> heat out.

    Losses inside the IT draw (power shelves) are split off the IT node, so
    the flows out of the grid add up to ``it_power_kw`` plus everything else
    drawn; any gap to ``grid_power_kw`` shows as its own node.
    """
    ts = run.table("timeseries", ("it_power_kw",))
    it = energy_mwh(run, "it_power_kw")
    inside = sum(energy_mwh(run, c) for c in INSIDE_IT if c in ts.columns)
    flows: list[tuple[str, str, float]] = [("Grid", "IT load", it - inside)]
    for c in loss_columns(run):
        flows.append(("Grid", f"Loss: {_pretty(c)}", energy_mwh(run, c)))
    for c in cooling_columns(run):
        flows.append(("Grid", f"Cooling: {_pretty(c)}", energy_mwh(run, c)))
    if "ancillary_kw" in ts.columns:
        flows.append(("Grid", "Ancillary (lighting, offices)", energy_mwh(run, "ancillary_kw")))
    if "heat_pump_kw" in ts.columns and "heat_delivered_kw" in ts.columns:
        hp = energy_mwh(run, "heat_pump_kw")
        delivered = energy_mwh(run, "heat_delivered_kw")
        recovered = energy_mwh(run, "heat_recovered_kw") if "heat_recovered_kw" in ts.columns else delivered - hp
        recovered = min(max(recovered, 0.0), it)
        flows += [("Grid", "Heat pumps", hp), ("IT load", "Heat pumps", recovered),
                  ("Heat pumps", "Heat delivered (district heating)", delivered),
                  ("IT load", "Heat rejected to ambient", it - inside - recovered)]
    else:
        flows.append(("IT load", "Heat rejected to ambient", it - inside))
    title = "Energy flow over the run [MWh]"
    if "grid_power_kw" in ts.columns:
        grid = energy_mwh(run, "grid_power_kw")
        gap = grid - sum(v for src, _, v in flows if src == "Grid")
        if gap > 1e-3 * grid:
            flows.append(("Grid", "Other (not itemised)", gap))
        elif gap < -1e-3 * grid:
            title += f" (itemised draws exceed grid energy by {-gap:,.0f} MWh)"
    flows = [f for f in flows if f[2] > 0]
    nodes = list(dict.fromkeys(n for src, dst, _ in flows for n in (src, dst)))
    idx = {n: i for i, n in enumerate(nodes)}
    fig = go.Figure(go.Sankey(
        valueformat=",.0f", valuesuffix=" MWh",
        node={"label": nodes, "pad": 18, "thickness": 16},
        link={"source": [idx[s] for s, _, _ in flows], "target": [idx[d] for _, d, _ in flows],
                  "value": [v for *_, v in flows]},
    ))
    fig.update_layout(**LAYOUT, title=title)
    return fig


def pue_ambient(run: RunData) -> go.Figure:
    """PUE and dry-bulb temperature over the run: daily means, or hourly for runs under 60 days."""
    frame = resample(run, ("pue", "dry_bulb_c"), "1h")
    if len(frame) > 60 * 24:
        frame = frame.resample("1D").mean().round(6)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=frame.index, y=frame["pue"], name="PUE", line={"color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=frame.index, y=frame["dry_bulb_c"], name="Dry-bulb [°C]",
                             line={"color": "#d62728", "width": 1}), secondary_y=True)
    fig.update_layout(**LAYOUT, title="PUE and ambient temperature")
    fig.update_yaxes(title_text="PUE [kWh/kWh]", secondary_y=False)
    fig.update_yaxes(title_text="Dry-bulb [°C]", secondary_y=True)
    return fig


def utilisation_heatmap(run: RunData) -> go.Figure:
    """Mean GPU utilisation by day (rows) and hour of day (columns)."""
    frame = resample(run, ("utilisation",), "1h")
    grid = frame.assign(day=frame.index.date, hour=frame.index.hour).pivot_table(
        index="day", columns="hour", values="utilisation", aggfunc="mean")
    fig = go.Figure(go.Heatmap(z=grid.to_numpy().T, x=[str(d) for d in grid.index], y=list(grid.columns),
                               colorscale="Viridis", zmin=0, zmax=1, colorbar={"title": "busy share [0-1]"}))
    fig.update_layout(**LAYOUT, title="GPU utilisation (day x hour, UTC)", yaxis_title="hour of day")
    return fig


def cooling_limits(run: RunData) -> go.Figure:
    """The hottest week: IT power asked for, IT power delivered, and what the cooling plant can reject.

    Any gap between asked and delivered is IT throttled because heat rejection could not hold the
    load on that hour (the scenario's overload rule); it is shaded and counted in the title.
    """
    cols = ("it_demand_kw", "it_power_kw", "cooling_capacity_kw", "dry_bulb_c")
    frame = resample(run, cols, "1h")  # steps are at most an hour, so this is hourly
    week = 7 * 24
    hottest = frame["dry_bulb_c"].rolling(week, min_periods=min(week, len(frame))).mean().to_numpy()
    end = int(np.nanargmax(hottest)) + 1
    frame = frame.iloc[max(0, end - week):end]
    throttled_mwh = float(run.kpis.get("throttled_it_mwh") or 0.0)
    shortfall_h = float(run.kpis.get("cooling_shortfall_hours") or 0.0)
    capped_h = float(run.kpis.get("cooling_limited_hours") or 0.0)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    mw = frame[["it_demand_kw", "it_power_kw", "cooling_capacity_kw"]] / 1000.0
    fig.add_trace(go.Scatter(x=frame.index, y=mw["cooling_capacity_kw"], name="cooling capacity (IT heat) [MW]",
                             line={"color": "#2ca02c", "dash": "dash"}))
    fig.add_trace(go.Scatter(x=frame.index, y=mw["it_demand_kw"], name="IT asked for [MW]", line={"color": "#7f7f7f"}))
    fig.add_trace(go.Scatter(x=frame.index, y=mw["it_power_kw"], name="IT delivered [MW]", fill="tonexty",
                             fillcolor="rgba(214,39,40,0.35)", line={"color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=frame.index, y=frame["dry_bulb_c"], name="dry-bulb [°C]",
                             line={"color": "#d62728", "width": 1}), secondary_y=True)
    if throttled_mwh > 0 or shortfall_h > 0:
        verdict = f"{shortfall_h:,.0f} h over capacity, {throttled_mwh:,.1f} MWh of IT throttled"
    elif capped_h > 0:
        verdict = f"cooling capped the GPUs for {capped_h:,.1f} h"
    else:
        verdict = "cooling held the full load on every step"
    installed_mw = run.kpis.get("installed_it_mw")
    if installed_mw:
        fig.add_hline(y=float(installed_mw), line={"color": "#9467bd", "dash": "dot"},
                      annotation_text="installed IT at full load")
    fig.update_layout(**LAYOUT, title=f"Cooling limits in the hottest week: {verdict}")
    fig.update_yaxes(title_text="MW", secondary_y=False)
    fig.update_yaxes(title_text="Dry-bulb [°C]", secondary_y=True)
    return fig


def _box(values: np.ndarray, name: str, **kw) -> go.Box:
    """A box from precomputed quantiles (whiskers at the 5th and 95th percentiles), so the figure
    carries five numbers per class instead of every job."""
    p5, q1, med, q3, p95 = np.percentile(values, [5, 25, 50, 75, 95])
    return go.Box(x=[name], q1=[q1], median=[med], q3=[q3], lowerfence=[p5], upperfence=[p95], name=name,
                  hovertemplate=f"{name}<br>p5 %{{lowerfence:.3g}} · p25 %{{q1:.3g}} · median %{{median:.3g}} · "
                                f"p75 %{{q3:.3g}} · p95 %{{upperfence:.3g}}<extra></extra>", **kw)


def job_distributions(run: RunData) -> go.Figure:
    """Queue wait [h] and bounded slowdown per job class: boxes of p25-p75, median, whiskers p5-p95 (log scale)."""
    jobs = run.table("jobs", ("kind", "wait_s", "duration_s"))
    started = np.isfinite(jobs["wait_s"].to_numpy(dtype=np.float64))
    jobs = jobs[started]
    if jobs.empty:
        raise Missing("no job in the jobs table has started")
    sd = slowdown(jobs)
    kinds = jobs["kind"].astype(str).to_numpy()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Queue wait (p5-p95)", "Bounded slowdown (p5-p95)"))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for i, kind in enumerate(sorted(set(kinds))):
        m = kinds == kind
        color = palette[i % len(palette)]
        wait_h = np.maximum(jobs["wait_s"].to_numpy(dtype=np.float64)[m] / 3600.0, 1e-3)
        fig.add_trace(_box(wait_h, kind, marker_color=color, legendgroup=kind), row=1, col=1)
        fig.add_trace(_box(sd[m], kind, marker_color=color, legendgroup=kind, showlegend=False), row=1, col=2)
    fig.update_yaxes(type="log")
    waited = bool(np.nanmax(jobs["wait_s"].to_numpy(dtype=np.float64)) > 1.0)
    title = f"Queue wait and slowdown by job class ({len(jobs):,} jobs started"
    title += ")" if waited else "; no job waited more than a second)"
    fig.update_layout(**LAYOUT, title=title)
    fig.update_yaxes(title_text="wait [h]", row=1, col=1)
    fig.update_yaxes(title_text="slowdown [ratio]", row=1, col=2)
    return fig


def inference_peak_week(run: RunData) -> go.Figure:
    """Output-token demand, served and capacity per inference service over the busiest week [tokens/s]."""
    svcs = services(run)
    if not svcs:
        raise Missing("timeseries has no '<service>__output_tokens_per_s' columns")
    ts = run.tables["timeseries"]
    total = sum(ts[f"{s}__output_tokens_per_s"].to_numpy(dtype=np.float64) for s in svcs)
    rows = peak_week(run, total)
    x = pd.to_datetime(ts["timestamp"], utc=True).iloc[rows] if "timestamp" in ts.columns else ts["t_s"].iloc[rows]
    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
    for i, s in enumerate(svcs):
        color = palette[i % len(palette)]
        fig.add_trace(go.Scatter(x=x, y=ts[f"{s}__output_tokens_per_s"].iloc[rows], name=f"{s} demand",
                                 line={"color": color}))
        for suffix, label, dash in (("served", "served", "dot"), ("capacity", "capacity", "dash")):
            col = f"{s}__output_tokens_served_per_s" if suffix == "served" else f"{s}__capacity_output_tokens_per_s"
            if col in ts.columns:
                fig.add_trace(go.Scatter(x=x, y=ts[col].iloc[rows], name=f"{s} {label}",
                                         line={"color": color, "dash": dash, "width": 1}))
    fig.update_layout(**LAYOUT, title="Inference load vs capacity, peak week", yaxis_title="output tokens/s")
    return fig


def failures_goodput(run: RunData) -> go.Figure:
    """Failures per component and GPU-hours lost per job class."""
    failures = run.table("failures", ("component",))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Failures by component", "GPU-hours lost by job class"))
    counts = failures["component"].astype(str).value_counts().sort_index()
    fig.add_trace(go.Bar(x=list(counts.index), y=counts.to_numpy(), name="failures", showlegend=False),
                  row=1, col=1)
    jobs = run.tables.get("jobs")
    if jobs is not None and {"kind", "lost_gpu_s"} <= set(jobs.columns):
        lost = jobs.groupby(jobs["kind"].astype(str))["lost_gpu_s"].sum() / 3600.0
        fig.add_trace(go.Bar(x=list(lost.index), y=lost.to_numpy(), name="GPU-h lost", showlegend=False),
                      row=1, col=2)
    goodput = run.kpis.get("goodput_frac")
    title = "Failures and goodput" + (f" (goodput {goodput:.1%})" if isinstance(goodput, (int, float)) else "")
    fig.update_layout(**LAYOUT, title=title)
    fig.update_yaxes(title_text="failures [count]", row=1, col=1)
    fig.update_yaxes(title_text="GPU-hours lost [GPU-h]", row=1, col=2)
    return fig


def _horizon_note(run: RunData) -> str:
    from dctwin.report.span import basis_text, span_of

    return basis_text("horizon", span_of(run.kpis, run.manifest))


def cost_breakdown(run: RunData) -> go.Figure:
    """Cost lines by category over the finance horizon [M EUR], one labelled bar per line."""
    lines = run.table("cost_lines", ("line", "eur"))
    cat = lines["category"].astype(str) if "category" in lines.columns else pd.Series(["cost"] * len(lines))
    names = lines["line"].astype(str).str.replace("__", " / ", regex=False).str.replace("_", " ", regex=False)
    fig = go.Figure()
    for c in sorted(cat.unique()):
        m = (cat == c).to_numpy()
        fig.add_trace(go.Bar(x=lines.loc[m, "eur"].to_numpy(dtype=np.float64) / 1e6, y=names[m], orientation="h",
                             name=c, hovertemplate="%{y}: %{x:,.1f} M EUR<extra></extra>"))
    per_gpu_h = run.kpis.get("eur_per_gpu_hour_used")
    title = "Cost lines, " + _horizon_note(run) + (f"; {per_gpu_h:.2f} EUR per GPU-hour used"
                                                    if isinstance(per_gpu_h, (int, float)) else "")
    fig.update_layout(**{**LAYOUT, "margin": {"l": 20, "r": 20, "t": 60, "b": 50},
                         "height": max(420, 22 * len(lines) + 160)}, title=title, barmode="relative",
                      xaxis_title="M EUR over the horizon (credits negative)")
    fig.update_yaxes(automargin=True, autorange="reversed", dtick=1)
    return fig


def token_costs(run: RunData) -> go.Figure:
    """Cost per million tokens (input + output) of each inference service [EUR per million tokens]."""
    unit = {k.split("__", 1)[1]: float(v) for k, v in run.kpis.items()
            if k.startswith("eur_per_mtok__") and isinstance(v, (int, float)) and np.isfinite(v)}
    if not unit:
        raise Missing("the KPIs have no 'eur_per_mtok__<service>'")
    fig = go.Figure(go.Bar(y=list(unit), x=list(unit.values()), orientation="h", marker_color="#444",
                           text=[f"{v:.3g}" for v in unit.values()], textposition="outside", cliponaxis=False,
                           name="EUR per million tokens", showlegend=False))
    fig.update_layout(**{**LAYOUT, "margin": {"l": 20, "r": 60, "t": 60, "b": 50},
                         "height": max(260, 40 * len(unit) + 160)},
                      title="Cost per million tokens, " + _horizon_note(run),
                      xaxis_title="EUR per million tokens (input + output)")
    fig.update_yaxes(automargin=True, dtick=1)
    return fig


def monthly_energy(run: RunData) -> go.Figure:
    """IT energy and heat delivered per month [MWh] with monthly PUE; per day for runs under 60 days."""
    frame, period = periods(run)
    if frame.empty or not len(frame.columns):
        raise Missing("table 'monthly' has none of 'it_energy_mwh', 'heat_delivered_mwh', 'pue'")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = list(frame.index)
    for col, name in (("it_energy_mwh", "IT energy [MWh]"), ("heat_delivered_mwh", "Heat delivered [MWh]")):
        if col in frame.columns:
            fig.add_trace(go.Bar(x=x, y=frame[col], name=name))
    if "pue" in frame.columns:
        fig.add_trace(go.Scatter(x=x, y=frame["pue"], name="PUE [kWh/kWh]", mode="lines+markers"),
                      secondary_y=True)
        lo, hi = float(np.nanmin(frame["pue"])), float(np.nanmax(frame["pue"]))
        pad = max(0.01, 0.1 * (hi - lo))
        fig.update_yaxes(range=[max(1.0, lo - pad) if lo >= 1.0 else lo - pad, hi + pad], secondary_y=True)
    title = "Monthly energy, heat and PUE" if period == "month" else "Daily energy, heat and PUE (run under 60 days)"
    fig.update_layout(**LAYOUT, title=title, xaxis_title=period, barmode="group")
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="MWh per " + period, secondary_y=False)
    fig.update_yaxes(title_text="PUE [kWh/kWh]", secondary_y=True)
    return fig


def carbon(run: RunData) -> go.Figure:
    """Location-based emissions per day [t CO2e] and daily mean grid carbon intensity [g/kWh]."""
    ts = run.table("timeseries", ("grid_power_kw", "carbon_g_per_kwh", "timestamp"))
    grid_kw = ts["grid_power_kw"].to_numpy(dtype=np.float64)
    ci = ts["carbon_g_per_kwh"].to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(pd.to_datetime(ts["timestamp"], utc=True))
    frame = pd.DataFrame({"t": grid_kw * ci * step_h(run) / 1e6, "ci": ci}, index=index)
    daily = frame.resample("1D").agg({"t": "sum", "ci": "mean"})
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=daily.index, y=daily["t"].to_numpy(), name="emissions [t CO2e/day]"))
    fig.add_trace(go.Scatter(x=daily.index, y=daily["ci"].to_numpy(), name="grid intensity [g/kWh]",
                             line={"color": "#2ca02c"}), secondary_y=True)
    fig.update_layout(**LAYOUT, title="Carbon: location-based emissions and grid intensity")
    fig.update_yaxes(title_text="t CO2e per day", secondary_y=False)
    fig.update_yaxes(title_text="g CO2e/kWh", secondary_y=True)
    return fig


Figure = Callable[[RunData], go.Figure]

FIGURES: dict[str, tuple[str, Figure]] = {
    "energy_flow": ("Energy flow", sankey),
    "pue_ambient": ("PUE and ambient temperature", pue_ambient),
    "monthly_energy": ("Monthly energy and heat", monthly_energy),
    "cooling_limits": ("Cooling limits", cooling_limits),
    "utilisation_heatmap": ("GPU utilisation", utilisation_heatmap),
    "job_distributions": ("Queue wait and slowdown", job_distributions),
    "inference_peak_week": ("Inference at the peak week", inference_peak_week),
    "failures_goodput": ("Failures and goodput", failures_goodput),
    "job_timeline": ("Job timeline (largest jobs)", job_timeline),
    "rack_power": ("Power and heat by rack", rack_heatmap),
    "cost_breakdown": ("Cost breakdown", cost_breakdown),
    "token_costs": ("Cost per million tokens", token_costs),
    "carbon": ("Carbon", carbon),
}


def tidy(fig: go.Figure) -> go.Figure:
    """Secondary y axes get their own round ticks (plotly.js would sync them to the primary grid)."""
    fig.for_each_yaxis(lambda ax: ax.update(tickmode="auto", showgrid=False) if ax.overlaying else None)
    return fig


def build_figures(run: RunData) -> tuple[dict[str, tuple[str, go.Figure]], dict[str, str]]:
    """All figures that can be drawn, and a note per figure that could not (``Missing`` only)."""
    figs, notes = {}, {}
    with white_figures():
        for key, (title, fn) in FIGURES.items():
            try:
                figs[key] = (title, tidy(fn(run)))
            except Missing as exc:
                notes[key] = f"{title}: not drawn, {exc}."
    return figs, notes
