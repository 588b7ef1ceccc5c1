"""Figures for the operator: a timeline (Gantt) of the largest jobs with their failures and restarts.

The jobs table holds each job's first start and its end; the failures table
each interruption. A bar spans first start to end (or the end of the run
while the job still runs); every interruption is a cross on its bar, and the
job restarts from its last checkpoint after it (``restarts`` in the hover).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dctwin.report.data import Missing, RunData
from dctwin.report.series import step_h

__all__ = ["job_timeline"]

TOP_JOBS = 25
STATE_COLOURS = {"completed": "#2ca02c", "running_at_end": "#1f77b4", "failed": "#d62728", "cancelled": "#7f7f7f"}


def _origin(run: RunData) -> pd.Timestamp:
    """The instant of ``t_s = 0`` (the scenario start), from the timeseries."""
    ts = run.table("timeseries", ("t_s", "timestamp"))
    first = pd.Timestamp(ts["timestamp"].iloc[0])
    return first - pd.Timedelta(seconds=float(ts["t_s"].iloc[0]))


def job_timeline(run: RunData) -> go.Figure:
    """The ``TOP_JOBS`` largest jobs by GPU-hours: first start to end, interruptions as crosses."""
    jobs = run.table("jobs", ("job_id", "kind", "gpus", "start_s", "end_s", "state", "gpu_s"))
    started = jobs[np.isfinite(jobs["start_s"].to_numpy(dtype=np.float64))]
    if started.empty:
        raise Missing("no job in the jobs table has started")
    top = started.nlargest(TOP_JOBS, "gpu_s").sort_values("start_s")
    ts = run.tables["timeseries"]
    run_end_s = float(ts["t_s"].iloc[-1]) + step_h(run) * 3600.0
    origin = _origin(run)
    end_s = top["end_s"].to_numpy(dtype=np.float64)
    end_s = np.where(np.isfinite(end_s), end_s, run_end_s)
    start = origin + pd.to_timedelta(top["start_s"].to_numpy(dtype=np.float64), unit="s")
    labels = [f"job {j} · {k} · {g:,} GPUs" for j, k, g in zip(top["job_id"], top["kind"].astype(str),
                                                                top["gpus"], strict=True)]
    restarts = top["restarts"].to_numpy() if "restarts" in top.columns else np.zeros(len(top), dtype=int)
    fig = go.Figure()
    states = top["state"].astype(str).to_numpy()
    for state in sorted(set(states)):
        m = states == state
        fig.add_trace(go.Bar(
            base=[t.isoformat() for t in start[m]], x=(end_s[m] - top["start_s"].to_numpy()[m]) * 1000.0,
            y=np.asarray(labels)[m], orientation="h", name=state.replace("_", " "),
            marker_color=STATE_COLOURS.get(state, "#9467bd"),
            customdata=np.stack([(end_s[m] - top["start_s"].to_numpy()[m]) / 3600.0, restarts[m]], axis=1),
            hovertemplate="%{y}<br>ran %{customdata[0]:,.1f} h, %{customdata[1]} restarts<extra></extra>"))
    failures = run.tables.get("failures")
    if failures is not None and {"job_id", "t_s"} <= set(failures.columns):
        hit = failures[failures["job_id"].isin(top["job_id"])]
        if len(hit):
            label_of = dict(zip(top["job_id"], labels, strict=True))
            fig.add_trace(go.Scatter(
                x=origin + pd.to_timedelta(hit["t_s"].to_numpy(dtype=np.float64), unit="s"),
                y=[label_of[j] for j in hit["job_id"]], mode="markers", name="interruption, then restart",
                marker={"symbol": "x-thin", "size": 9, "line": {"width": 2, "color": "#000"}},
                hovertemplate="%{y}<br>interrupted %{x}<extra></extra>"))
    fig.update_layout(font={"family": "system-ui, sans-serif", "size": 12},
                      margin={"l": 20, "r": 30, "t": 60, "b": 50}, height=max(320, 24 * len(top) + 170),
                      title=f"Largest {len(top)} jobs by GPU-hours: run time, interruptions and restarts",
                      barmode="overlay", xaxis={"type": "date", "title": "local time"})
    fig.update_yaxes(automargin=True, autorange="reversed", dtick=1, title_text="job · class · GPUs")
    return fig
