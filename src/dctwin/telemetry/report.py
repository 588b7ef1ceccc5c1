"""What a replay shows a person: measured against model, the rolling deviation with drift periods, and tables.

The same figure definitions feed the standalone ``report.html`` written into a
replay's run directory and the dashboard's page of that run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dctwin.telemetry.drift import rolling_deviation_pct
from dctwin.telemetry.quantities import CANONICAL_UNIT, QUANTITIES

__all__ = ["context_from_tables", "replay_context", "replay_report_html"]

_TABLES = ("fit", "drift", "quality", "calibration")


def _label(q: str) -> str:
    quantity = QUANTITIES[q]
    return f"{quantity.label} [{CANONICAL_UNIT[quantity.kind]}]"


def _outputs(replay: pd.DataFrame) -> list[str]:
    return [c.removeprefix("measured_") for c in replay.columns if c.startswith("measured_")]


def _hourly(replay: pd.DataFrame) -> pd.DataFrame:
    return replay.set_index("time").resample("1h").mean(numeric_only=True).reset_index()


def _measured_vs_model(replay: pd.DataFrame):
    """One panel per measured output (their scales differ by orders of magnitude), hourly means."""
    from plotly.subplots import make_subplots

    hourly, outputs = _hourly(replay), _outputs(replay)
    fig = make_subplots(rows=len(outputs), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[_label(q) for q in outputs])
    for i, q in enumerate(outputs, 1):
        fig.add_scatter(x=hourly["time"], y=hourly[f"measured_{q}"], name="measured", mode="lines",
                        line={"color": "#1f77b4"}, showlegend=i == 1, row=i, col=1)
        fig.add_scatter(x=hourly["time"], y=hourly[f"predicted_{q}"], name="model", mode="lines",
                        line={"color": "#d62728", "dash": "dot"}, showlegend=i == 1, row=i, col=1)
    fig.update_xaxes(title_text="time (UTC)", row=len(outputs), col=1)
    fig.update_layout(legend_orientation="h", margin={"t": 30}, height=160 + 170 * len(outputs))
    return fig


def _model_only(replay: pd.DataFrame):
    """Telemetry with no facility meter: the measured IT power that drove the model and the model's site and
    cooling power for it, hourly means (a what-if, nothing to compare)."""
    from plotly.subplots import make_subplots

    hourly = _hourly(replay)
    panels = [("it_power_kw", "measured IT power [kW]", "#1f77b4"),
              ("predicted_grid_power_kw", "model: site power from the grid [kW]", "#d62728"),
              ("predicted_cooling_power_kw", "model: cooling plant power [kW]", "#d62728")]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[title for _, title, _ in panels])
    for i, (col, title, color) in enumerate(panels, 1):
        fig.add_scatter(x=hourly["time"], y=hourly[col], name=title, mode="lines", line={"color": color},
                        showlegend=False, row=i, col=1)
    fig.update_xaxes(title_text="time (UTC)", row=len(panels), col=1)
    fig.update_layout(margin={"t": 30}, height=160 + 170 * len(panels))
    return fig


def _deviation(replay: pd.DataFrame, drift: pd.DataFrame, step_s: int, threshold_pct: float, window_h: float):
    import plotly.graph_objects as go

    window = max(int(round(window_h * 3600 / step_s)), 1)
    fig = go.Figure()
    for q in _outputs(replay):
        dev = rolling_deviation_pct(replay[f"measured_{q}"], replay[f"predicted_{q}"], window)
        hourly = pd.Series(dev, index=replay["time"]).resample("1h").mean()
        fig.add_scatter(x=hourly.index, y=hourly.to_numpy(), name=QUANTITIES[q].label, mode="lines")
    for sign in (1, -1):
        fig.add_hline(y=sign * threshold_pct, line_dash="dash", line_color="grey")
    for _, row in drift.iterrows():
        fig.add_vrect(x0=row["start"], x1=row["end"], fillcolor="red", opacity=0.06, line_width=0)
    limit = max(10.0 * threshold_pct, 20.0)
    fig.update_layout(yaxis_title=f"(measured - model) / measured, {window_h:g}-h rolling [%]",
                      yaxis_range=[-limit, limit], xaxis_title=f"time (UTC); shaded: drift periods; "
                      f"axis clipped at +/-{limit:g} %", legend={"orientation": "h", "y": -0.3},
                      margin={"t": 10, "b": 120}, height=460)
    return fig


_HEADERS = {
    "quantity": "quantity", "n_steps": "steps compared [count]", "hourly_n": "hours [count]",
    "hourly_cv_rmse_pct": "hourly CV(RMSE) [%]", "hourly_nmbe_pct": "hourly NMBE [%]",
    "hourly_meets_guideline14": "meets hourly criteria", "monthly_n": "months [count]",
    "monthly_cv_rmse_pct": "monthly CV(RMSE) [%]", "monthly_nmbe_pct": "monthly NMBE [%]",
    "monthly_meets_guideline14": "meets monthly criteria", "start": "start", "end": "end", "hours": "length [h]",
    "mean_deviation_pct": "mean deviation [%]", "max_deviation_pct": "largest deviation [%]", "series": "series",
    "issue": "issue", "count": "count", "detail": "detail", "name": "parameter", "label": "meaning", "unit": "unit",
    "initial": "initial", "fitted": "fitted", "std_statistical": "statistical std",
    "std_inputs": "std from input uncertainty", "std": "standard uncertainty", "ci95_low": "95 % interval low",
    "ci95_high": "95 % interval high", "identifiable": "identifiable", "at_bound": "at a bound",
}


def _table(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [_HEADERS.get(c, c) for c in frame.columns],
            "rows": [dict(zip([_HEADERS.get(c, c) for c in frame.columns], r.values(), strict=True))
                     for r in _rows(frame)]}


def _rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    def cell(v: Any) -> str:
        if v is pd.NA:
            return "n/a"
        if isinstance(v, bool | np.bool_):
            return "yes" if v else "no"
        if isinstance(v, float):
            return "n/a" if v != v else f"{v:,.4g}"
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d %H:%M UTC")
        return str(v)

    return [{k: cell(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def replay_context(run_dir: Path) -> dict[str, Any]:
    """Figures (JSON blocks) and tables of one replay run directory, for a page template."""
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    kpis = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    tables = {n: pd.read_parquet(run_dir / f"{n}.parquet")
              for n in ("replay", *_TABLES) if (run_dir / f"{n}.parquet").is_file()}
    return context_from_tables(run_dir.name, manifest, kpis, tables)


def context_from_tables(name: str, manifest: dict, kpis: dict, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The page context from a replay's tables in memory (``replay`` plus fit, drift, quality, calibration)."""
    from dctwin.report.html import figure_blocks

    replay = tables["replay"]
    tables = {n: tables[n] for n in _TABLES if n in tables}
    step_s = int(manifest.get("step_s", 60))
    if not _outputs(replay):  # nothing measured on the facility side: show what drove the model, say so
        figs = {"measured_vs_model": ("Measured IT power and the model's facility power (no facility meter in "
                                      "the telemetry: nothing to compare)", _model_only(replay))}
    else:
        figs = {"measured_vs_model": ("Measured against model", _measured_vs_model(replay)),
                "deviation": ("Rolling deviation and drift periods",
                              _deviation(replay, tables["drift"], step_s,
                                         float(kpis.get("drift_threshold_pct", 5.0)),
                                         float(kpis.get("drift_window_h", 24.0))))}
    blocks = [{**b, "height_px": int(figs[b["key"]][1].layout.height or 420)} for b in figure_blocks(figs)]
    return {"name": name, "manifest": manifest, "kpis": kpis, "figures": blocks,
            "tables": {n: _table(t) for n, t in tables.items()},
            "sources": manifest.get("telemetry_sources", [])}


def replay_report_html(context: dict[str, Any]) -> str:
    """A standalone, offline report of a replay (plotly inlined) from ``replay_context`` or
    ``context_from_tables``."""
    from importlib import resources

    import jinja2

    from dctwin.report.html import CSS, REPORT_CSP, plotly_js

    env = jinja2.Environment(loader=jinja2.ChoiceLoader([jinja2.PackageLoader("dctwin.telemetry", "templates"),
                                                         jinja2.PackageLoader("dctwin.report", "templates")]),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined)
    draw_js = (resources.files("dctwin.report") / "templates" / "draw.js").read_text(encoding="utf-8")
    return env.get_template("replay_report.html").render(css=CSS(), plotly_js=plotly_js(), draw_js=draw_js,
                                                         csp=REPORT_CSP, inline_plotly=True, **context)
