"""The dashboard's routes, one registration function per page group (static assets, run pages,
the new-run form, the JSON API); each route reads what it shares through :class:`dctwin.web.app.Dashboard`."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import stat
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dctwin.errors import DctwinError
from dctwin.report.build import compare_context, report_context
from dctwin.report.data import RunData, load_run
from dctwin.report.kpis import kpi_rows
from dctwin.web.form import FormError, defaults
from dctwin.web.security import TooLarge, header_token_ok, read_regular

if TYPE_CHECKING:
    from dctwin.web.app import Dashboard

__all__ = ["add_api_routes", "add_compare_page", "add_form_pages", "add_run_files", "add_run_pages",
           "add_static_routes"]

MAX_COMPARE = 8
PNG_NAME = re.compile(r"^[a-z0-9_]{1,64}\.png$")


@functools.cache
def _asset(package: str, *parts: str) -> bytes:
    return (resources.files(package).joinpath(*parts)).read_bytes()


@functools.lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from dctwin.report.html import plotly_js

    return plotly_js().encode("utf-8")


def _slim(ctx: dict[str, Any]) -> dict[str, Any]:
    """A page context without the runs' tables (the figures are already drawn), so caching it is cheap."""
    out = dict(ctx)
    if isinstance(out.get("run"), RunData):
        out["run"] = dataclasses.replace(out["run"], tables={})
    if isinstance(out.get("runs"), list):
        out["runs"] = [dataclasses.replace(r, tables={}) if isinstance(r, RunData) else r for r in out["runs"]]
    return out


def _regular_pngs(folder: Path) -> list[str]:
    """Names of the regular (not symlinked) PNG files directly in ``folder``."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(e.name for e in entries if PNG_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False))


def _asset_route(body: Callable[[], bytes], media: str) -> Callable[[], Response]:
    def asset() -> Response:
        return Response(body(), media_type=media, headers={"cache-control": "public, max-age=3600"})

    return asset


def add_static_routes(app: FastAPI) -> None:
    """plotly.js, the drawing script, the dashboard script and the stylesheet, all from installed packages."""
    js, css = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
    served = {"/static/plotly.min.js": (_plotly_js, js),
              "/static/draw.js": (lambda: _asset("dctwin.report", "templates", "draw.js"), js),
              "/static/app.js": (lambda: _asset("dctwin.web", "static", "app.js"), js),
              "/static/report.css": (lambda: _asset("dctwin.report", "templates", "report.css"), css)}
    for url, (body, media) in served.items():
        app.add_api_route(url, _asset_route(body, media), methods=["GET"], include_in_schema=False)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)


def add_run_pages(app: FastAPI, d: Dashboard) -> None:
    """The run list and one run's page."""

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        listed = d.store.list()
        return d.page(request, "index.html", runs=[r for r in listed if r["kind"] != "replay"],
                      replays=[r for r in listed if r["kind"] == "replay"],
                      jobs=[j.as_dict() for j in d.jobs.list()[:10]], title="Runs")

    @app.get("/runs/{name}", response_class=HTMLResponse)
    def run_page(request: Request, name: str) -> HTMLResponse:
        path, err = d.resolve(name)
        if err:
            return d.error_page(request, *err)
        key = (name, (path / "manifest.json").stat().st_mtime_ns)
        if d.store.summary(name)["kind"] == "replay":
            from dctwin.telemetry.report import replay_context

            return d.page(request, "replay_page.html", title=name, **d.pages.get(key, lambda: replay_context(path)))
        try:
            ctx = d.pages.get(key, lambda: _slim(report_context(load_run(path))))
        except DctwinError as exc:
            return d.error_page(request, 409, f"this run cannot be shown: {exc}")
        pngs = _regular_pngs(path / "figures")
        others = [r["name"] for r in d.store.list() if r["name"] != name and r["kind"] != "replay"]
        return d.page(request, "run.html", cache_key=(key, tuple(pngs), tuple(others)), title=name, pngs=pngs,
                      others=others, **ctx)



def add_run_files(app: FastAPI, d: Dashboard) -> None:
    """A run's own report and PNG figures, served only as regular files inside the run folder."""

    @app.get("/runs/{name}/report.html", response_class=HTMLResponse)
    def run_report(request: Request, name: str) -> Response:
        path, err = d.resolve(name)
        if err:
            return d.error_page(request, *err)
        body = read_regular(path, "report.html")
        if body is None:
            return d.error_page(request, 404, "this run has no report.html (a regular file); run `dctwin report`")
        from dctwin.report.html import REPORT_CSP

        return Response(body, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": REPORT_CSP})

    @app.get("/runs/{name}/figures/{png}")
    def run_png(request: Request, name: str, png: str) -> Response:
        path, err = d.resolve(name)
        if err:
            return d.error_page(request, *err)
        body = read_regular(path, "figures", png) if PNG_NAME.fullmatch(png) else None
        if body is None:
            return d.error_page(request, 404, "no such figure")
        return Response(body, media_type="image/png")



def add_compare_page(app: FastAPI, d: Dashboard) -> None:
    """Two to MAX_COMPARE simulation runs side by side."""

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, run: Annotated[list[str] | None, Query()] = None) -> HTMLResponse:
        names = list(dict.fromkeys(run or []))
        if not 2 <= len(names) <= MAX_COMPARE:
            return d.error_page(request, 400, f"choose between 2 and {MAX_COMPARE} runs to compare (got {len(names)})")
        paths = []
        for n in names:
            path, err = d.resolve(n)
            if err:
                return d.error_page(request, *err)
            if d.store.summary(n)["kind"] == "replay":
                return d.error_page(request, 400, f"{n} is a telemetry replay; compare simulation runs only")
            paths.append(path)
        key = tuple((p.name, (p / "manifest.json").stat().st_mtime_ns) for p in paths)
        try:
            ctx = d.pages.get(("cmp", key), lambda: _slim(compare_context([load_run(p) for p in paths])))
        except DctwinError as exc:
            return d.error_page(request, 409, f"these runs cannot be compared: {exc}")
        return d.page(request, "compare.html", title="Compare", **ctx)


def add_form_pages(app: FastAPI, d: Dashboard) -> None:
    """The new-run form, its submission (CSRF-checked) and the job progress page."""

    @app.get("/new", response_class=HTMLResponse)
    def new_run(request: Request) -> HTMLResponse:
        return d.form_page(request, defaults(d.base_scenario()), {})

    @app.post("/runs")
    async def submit_form(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=50)
        except TooLarge:
            raise
        except Exception:  # noqa: BLE001 - any parse failure of a client's body is the client's error
            return d.error_page(request, 400, "malformed form body")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        why = d.csrf_refusal(request, fields.get("csrf_token"))
        if why:
            return d.error_page(request, 403, f"refused: {why} (CSRF check); reload the form and submit again")
        try:
            job = d.start(fields)
        except FormError as exc:
            return d.form_page(request, {**defaults(d.base_scenario()), **fields}, exc.errors, status=422)
        except DctwinError as exc:
            return d.form_page(request, {**defaults(d.base_scenario()), **fields}, {"scenario": str(exc)}, status=422)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        job = d.jobs.get(job_id)
        if job is None:
            return d.error_page(request, 404, "no such job")
        return d.page(request, "job.html", title="Run progress", job=job.as_dict())


def _api_body(body: Any) -> str | None:
    """Why a JSON run request's body is refused, or None. A key the form does not know (``seed``, a typo)
    is refused: it would be silently ignored."""
    from dctwin.web.form import FIELDS

    if not isinstance(body, dict):
        return "body must be a JSON object"
    if any(isinstance(v, (dict, list)) for v in body.values()):
        return "body values must be strings or numbers"
    known = {f.name for f in FIELDS} | {"policy", "run_name", "description"}
    unknown = sorted(k for k in body if k not in known)
    if unknown:
        return f"unknown field {unknown[0][:40]!r}; allowed: {', '.join(sorted(known))}"
    return None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object with a key given twice is refused (json keeps the last value silently)."""
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def add_api_routes(app: FastAPI, d: Dashboard) -> None:
    """The JSON API: runs, jobs, starting a run (token or CSRF header) and the health check."""

    @app.get("/api/runs")
    def api_runs() -> list[dict[str, Any]]:
        return d.store.list()

    @app.get("/api/runs/{name}")
    def api_run(name: str) -> JSONResponse:
        path, err = d.resolve(name)
        if err:
            return JSONResponse({"detail": err[1]}, status_code=err[0])
        summary = d.store.summary(path.name)
        return JSONResponse({**summary, "kpi_rows": kpi_rows(summary["kpis"], summary.get("manifest"))})

    @app.get("/api/jobs")
    def api_jobs() -> list[dict[str, Any]]:
        return [j.as_dict() for j in d.jobs.list()]

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: str) -> JSONResponse:
        job = d.jobs.get(job_id)
        if job is None:
            return JSONResponse({"detail": "no such job"}, status_code=404)
        return JSONResponse(job.as_dict())

    @app.post("/api/runs")
    async def api_start(request: Request) -> JSONResponse:
        if not header_token_ok(dict(request.headers), d.token):
            why = d.csrf_refusal(request, request.headers.get("x-csrf-token"))
            if why:
                return JSONResponse({"detail": f"refused: {why} (X-CSRF-Token header)"}, status_code=403)
        try:
            body = json.loads(await request.body(), object_pairs_hook=_no_duplicate_keys)
        except TooLarge:
            raise
        except (ValueError, RecursionError):
            return JSONResponse({"detail": "body must be a JSON object (not nested too deeply, no key twice)"},
                                status_code=400)
        refused = _api_body(body)
        if refused:
            return JSONResponse({"detail": refused}, status_code=400)
        try:
            job = d.start({k: str(v) for k, v in body.items()})
        except FormError as exc:
            return JSONResponse({"detail": str(exc), "errors": exc.errors}, status_code=422)
        except DctwinError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return JSONResponse(job.as_dict(), status_code=202)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}
