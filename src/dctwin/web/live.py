"""The dashboard's live view: measured against expected power as telemetry arrives (no reload)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

__all__ = ["live_router"]

_LIVE_JS = """/* Live view: poll /api/live and append the new rows to the chart. */
(function () {
  "use strict";
  var el = document.getElementById("live-chart"), status = document.getElementById("live-status");
  var last = null, drawn = false;
  var labels = {};
  function traces(rows, cols) {
    return cols.map(function (c) { return { x: rows.map(function (r) { return r.time; }),
      y: rows.map(function (r) { return r[c]; }), name: labels[c] || c, mode: "lines" }; });
  }
  function poll() {
    var url = "/api/live" + (last ? "?since=" + encodeURIComponent(last) : "");
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      status.textContent = j.status;
      labels = j.labels || labels;
      if (j.rows.length) {
        var cols = j.columns.filter(function (c) { return c !== "time"; });
        if (!drawn && window.Plotly) {
          Plotly.newPlot(el, traces(j.rows, cols), { margin: { t: 10 },
            yaxis: { title: { text: "power [kW]" } }, xaxis: { title: { text: "time (UTC)" } },
            legend: { orientation: "h", y: -0.25 } }, { responsive: true });
          drawn = true;
        } else if (drawn) {
          var upd = traces(j.rows, cols);
          var xs = upd.map(function (t) { return t.x; }), ys = upd.map(function (t) { return t.y; });
          Plotly.extendTraces(el, { x: xs, y: ys }, cols.map(function (_, i) { return i; }));
        }
        last = j.rows[j.rows.length - 1].time;
        document.getElementById("live-rows").textContent = String(j.total_rows);
      }
      setTimeout(poll, 2000);
    }).catch(function () { status.textContent = "dashboard unreachable; retrying"; setTimeout(poll, 5000); });
  }
  poll();
})();
"""


def _labels(columns: list[str]) -> dict[str, str]:
    """Plain labels with units for the live columns."""
    from dctwin.telemetry.quantities import CANONICAL_UNIT, QUANTITIES

    out = {}
    for col in columns:
        prefix, _, name = col.partition("_") if col.startswith(("measured_", "predicted_")) else ("", "", col)
        q = QUANTITIES.get(name)
        if q is not None:
            who = {"measured": "measured ", "predicted": "model: "}.get(prefix, "")
            out[col] = f"{who}{q.label} [{CANONICAL_UNIT[q.kind]}]"
    return out


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        row = {"time": rec["time"].isoformat()}
        for k, v in rec.items():
            if k != "time":
                row[k] = None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 3)
        out.append(row)
    return out


def live_router(follower, page: Callable[..., HTMLResponse]) -> APIRouter:
    """Routes of the live view over ``follower`` (a ``dctwin.telemetry.live.LiveFollower``)."""
    router = APIRouter()

    @router.get("/live", response_class=HTMLResponse)
    def live_page(request: Request) -> HTMLResponse:
        return page(request, "live.html", title="Live: measured against expected", source=follower.source,
                    scenario=follower.scenario.name)

    @router.get("/static/live.js", include_in_schema=False)
    def live_js() -> Response:
        return Response(_LIVE_JS, media_type="text/javascript; charset=utf-8")

    @router.get("/api/live")
    def api_live(since: str | None = Query(None, max_length=40)) -> JSONResponse:
        frame = follower.poll()
        total = len(frame)
        if since is not None and total:
            try:
                cut = pd.Timestamp(since)
                cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
            except ValueError:
                return JSONResponse({"error": "since must be an ISO 8601 time"}, status_code=400)
            frame = frame[frame["time"] > cut]
        return JSONResponse({"status": follower.status, "columns": list(frame.columns), "total_rows": total,
                             "labels": _labels(list(frame.columns)),
                             "rows": _json_rows(frame)})

    return router
