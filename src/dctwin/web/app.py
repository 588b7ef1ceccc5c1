"""The dashboard: FastAPI app listing runs, drawing figures, comparing runs and starting new ones.

Pages are server-rendered Jinja2 (autoescaped); figures are the report's
plotly figures, drawn by plotly.js served from the installed plotly package,
so the browser loads nothing from the internet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import secrets
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dctwin.errors import DctwinError, InputError
from dctwin.report.build import compare_context, report_context
from dctwin.report.data import RunData, load_run
from dctwin.report.kpis import kpi_rows
from dctwin.results.run_dir import verify_run_dir
from dctwin.results.schema import field
from dctwin.web.form import FIELDS, FormError, build_scenario, default_run_name, defaults, parse_form, policy_names
from dctwin.web.jobs import JobManager, Runner
from dctwin.web.runs import RunStore
from dctwin.web.security import (
    CSRF_COOKIE,
    LOOPBACK_HOSTS,
    Csrf,
    Guard,
    TooLarge,
    header_token_ok,
    new_csrf,
    own_origin,
    read_regular,
)

__all__ = ["create_app"]

MAX_COMPARE = 8
_CSRF_SLOT = "csrf-slot-" + secrets.token_hex(12)   # stands in for the per-session token in cached pages
PNG_NAME = re.compile(r"^[a-z0-9_]{1,64}\.png$")

_ENV = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("dctwin.web", "templates"),
                                jinja2.PackageLoader("dctwin.report", "templates"),
                                jinja2.PackageLoader("dctwin.telemetry", "templates")]),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
_ENV.globals["kpi_value"] = lambda key, value: field(key, "kpis").format(value)


@functools.cache
def _asset(package: str, *parts: str) -> bytes:
    return (resources.files(package).joinpath(*parts)).read_bytes()


@functools.lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from dctwin.report.html import plotly_js

    return plotly_js().encode("utf-8")


class _LRU:
    """A small cache that builds each missing value once: concurrent callers of one key wait for the
    first builder (single flight), and at most ``builders`` values are built at the same time, so a
    burst of cold requests costs one build's memory, not one per request."""

    def __init__(self, size: int = 16, builders: int = 1) -> None:
        self.size = size
        self._d: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Any, threading.Lock] = {}
        self._slots = threading.BoundedSemaphore(builders)

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._d:
                    return self._d[key]
            with self._slots:
                value = make()
            with self._lock:
                self._d[key] = value
                self._building.pop(key, None)
                while len(self._d) > self.size:
                    self._d.popitem(last=False)
        return value


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


def create_app(runs_dir: Path, token: str | None = None, *, runner: Runner | None = None,
               allowed_hosts: list[str] | None = None, max_body_bytes: int = 64 * 1024,
               write_reports: bool = True, live=None, max_runs: int = 1000, min_free_mb: float = 2048.0) -> FastAPI:
    """The dashboard app over ``runs_dir``.

    ``token``: required on every request when given. ``allowed_hosts``: Host
    header names accepted (default: loopback names without a token, any
    with one). ``runner(scenario, out_dir, progress)`` starts a run
    (default ``dctwin.orchestrator.run``); after it, ``report.html`` is written.
    ``live``: a ``dctwin.telemetry.live.LiveFollower`` shown at ``/live``.
    ``max_runs``, ``min_free_mb``: a new run is refused when the runs folder holds that many runs or its
    disk has less free space [MB], so the dashboard cannot fill the disk over time.
    """
    store = RunStore(Path(runs_dir))
    after = None
    if write_reports:
        from dctwin.report import write_report as after
    jobs = JobManager(store.root, runner=runner, after=after, max_runs=max_runs, min_free_mb=min_free_mb)
    pages, rendered = _LRU(), _LRU(size=8, builders=2)
    csrf = Csrf()
    if allowed_hosts is None and token is None:
        allowed_hosts = list(LOOPBACK_HOSTS)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        jobs.shutdown()

    app = FastAPI(title="dctwin dashboard", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.store, app.state.jobs = store, jobs

    def page(request: Request, template: str, status: int = 200, cache_key: Any = None, **ctx: Any) -> HTMLResponse:
        """Render ``template``; with ``cache_key`` the HTML is rendered once and only the CSRF token swapped."""
        session = request.cookies.get(CSRF_COOKIE) or ""
        if not (16 <= len(session) <= 64 and session.replace("-", "").replace("_", "").isalnum()):
            session = new_csrf()
        token_ = csrf.token(session, own_origin(dict(request.headers), request.url.scheme))
        if cache_key is None:
            html = _ENV.get_template(template).render(csrf=token_, **ctx)
        else:
            html = rendered.get((template, cache_key), lambda: _ENV.get_template(template).render(
                csrf=_CSRF_SLOT, **ctx)).replace(_CSRF_SLOT, token_)
        resp = HTMLResponse(html, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != session:
            resp.set_cookie(CSRF_COOKIE, session, httponly=True, samesite="strict", path="/")
        return resp

    def csrf_refusal(request: Request, submitted: str | None) -> str | None:
        return csrf.check(request.cookies.get(CSRF_COOKIE), submitted, dict(request.headers), request.url.scheme)

    def error_page(request: Request, status: int, message: str) -> HTMLResponse:
        return page(request, "error.html", status=status, message=message, title="Error")

    def resolve(name: str):
        """(path, None) or (None, (status, message)); a run whose files changed is refused (409)."""
        try:
            path = store.path(name)
        except InputError as exc:
            return None, (400, str(exc))
        except FileNotFoundError:
            return None, (404, f"no complete run named {name[:80]!r}")
        problems = verify_run_dir(path)
        if problems:
            return None, (409, f"run {name!r} was changed after it finished and is refused: " + "; ".join(problems[:5]))
        return path, None

    def base_scenario() -> dict[str, Any]:
        from dctwin.config import load_scenario

        return load_scenario().model_dump(mode="json")

    if live is not None:
        from dctwin.web.live import live_router

        app.include_router(live_router(live, page))

    # ------------------------------------------------------------ static assets
    def asset(body: bytes, media: str) -> Response:
        return Response(body, media_type=media, headers={"cache-control": "public, max-age=3600"})

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_asset() -> Response:
        return asset(_plotly_js(), "text/javascript; charset=utf-8")

    @app.get("/static/draw.js", include_in_schema=False)
    def draw_asset() -> Response:
        return asset(_asset("dctwin.report", "templates", "draw.js"), "text/javascript; charset=utf-8")

    @app.get("/static/app.js", include_in_schema=False)
    def app_asset() -> Response:
        return asset(_asset("dctwin.web", "static", "app.js"), "text/javascript; charset=utf-8")

    @app.get("/static/report.css", include_in_schema=False)
    def css_asset() -> Response:
        return asset(_asset("dctwin.report", "templates", "report.css"), "text/css; charset=utf-8")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    # ------------------------------------------------------------ pages
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        listed = store.list()
        return page(request, "index.html", runs=[r for r in listed if r["kind"] != "replay"],
                    replays=[r for r in listed if r["kind"] == "replay"], jobs=[j.as_dict() for j in jobs.list()[:10]],
                    title="Runs")

    @app.get("/runs/{name}", response_class=HTMLResponse)
    def run_page(request: Request, name: str) -> HTMLResponse:
        path, err = resolve(name)
        if err:
            return error_page(request, *err)
        key = (name, (path / "manifest.json").stat().st_mtime_ns)
        if store.summary(name)["kind"] == "replay":
            from dctwin.telemetry.report import replay_context

            return page(request, "replay_page.html", title=name, **pages.get(key, lambda: replay_context(path)))
        try:
            ctx = pages.get(key, lambda: _slim(report_context(load_run(path))))
        except DctwinError as exc:
            return error_page(request, 409, f"this run cannot be shown: {exc}")
        pngs = _regular_pngs(path / "figures")
        others = [r["name"] for r in store.list() if r["name"] != name and r["kind"] != "replay"]
        return page(request, "run.html", cache_key=(key, tuple(pngs), tuple(others)), title=name, pngs=pngs,
                    others=others, **ctx)

    @app.get("/runs/{name}/report.html", response_class=HTMLResponse)
    def run_report(request: Request, name: str) -> Response:
        path, err = resolve(name)
        if err:
            return error_page(request, *err)
        body = read_regular(path, "report.html")
        if body is None:
            return error_page(request, 404, "this run has no report.html (a regular file); run `dctwin report`")
        from dctwin.report.html import REPORT_CSP

        return Response(body, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": REPORT_CSP})

    @app.get("/runs/{name}/figures/{png}")
    def run_png(request: Request, name: str, png: str) -> Response:
        path, err = resolve(name)
        if err:
            return error_page(request, *err)
        body = read_regular(path, "figures", png) if PNG_NAME.fullmatch(png) else None
        if body is None:
            return error_page(request, 404, "no such figure")
        return Response(body, media_type="image/png")

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, run: Annotated[list[str] | None, Query()] = None) -> HTMLResponse:
        names = list(dict.fromkeys(run or []))
        if not 2 <= len(names) <= MAX_COMPARE:
            return error_page(request, 400, f"choose between 2 and {MAX_COMPARE} runs to compare (got {len(names)})")
        paths = []
        for n in names:
            path, err = resolve(n)
            if err:
                return error_page(request, *err)
            if store.summary(n)["kind"] == "replay":
                return error_page(request, 400, f"{n} is a telemetry replay; compare simulation runs only")
            paths.append(path)
        key = tuple((p.name, (p / "manifest.json").stat().st_mtime_ns) for p in paths)
        try:
            ctx = pages.get(("cmp", key), lambda: _slim(compare_context([load_run(p) for p in paths])))
        except DctwinError as exc:
            return error_page(request, 409, f"these runs cannot be compared: {exc}")
        return page(request, "compare.html", title="Compare", **ctx)

    def form_page(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200):
        return page(request, "new.html", status=status, title="New run", values=values, errors=errors,
                    fields=FIELDS, policies=policy_names())

    @app.get("/new", response_class=HTMLResponse)
    def new_run(request: Request) -> HTMLResponse:
        return form_page(request, defaults(base_scenario()), {})

    def start(form: dict[str, str]):
        values = parse_form(form)
        scenario = build_scenario(base_scenario(), values)
        name = values["run_name"] or default_run_name(scenario.name)
        if store.exists(name) or jobs.reserved(name):
            raise FormError({"run_name": f"a run named {name!r} exists already; choose another name"})
        return jobs.submit(scenario, name)

    @app.post("/runs")
    async def submit_form(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=50)
        except TooLarge:
            raise
        except Exception:  # noqa: BLE001 - any parse failure of a client's body is the client's error
            return error_page(request, 400, "malformed form body")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        why = csrf_refusal(request, fields.get("csrf_token"))
        if why:
            return error_page(request, 403, f"refused: {why} (CSRF check); reload the form and submit again")
        try:
            job = start(fields)
        except FormError as exc:
            return form_page(request, {**defaults(base_scenario()), **fields}, exc.errors, status=422)
        except DctwinError as exc:
            return form_page(request, {**defaults(base_scenario()), **fields}, {"scenario": str(exc)}, status=422)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        job = jobs.get(job_id)
        if job is None:
            return error_page(request, 404, "no such job")
        return page(request, "job.html", title="Run progress", job=job.as_dict())

    # ------------------------------------------------------------ JSON API
    @app.get("/api/runs")
    def api_runs() -> list[dict[str, Any]]:
        return store.list()

    @app.get("/api/runs/{name}")
    def api_run(name: str) -> JSONResponse:
        path, err = resolve(name)
        if err:
            return JSONResponse({"detail": err[1]}, status_code=err[0])
        summary = store.summary(path.name)
        return JSONResponse({**summary, "kpi_rows": kpi_rows(summary["kpis"], summary.get("manifest"))})

    @app.get("/api/jobs")
    def api_jobs() -> list[dict[str, Any]]:
        return [j.as_dict() for j in jobs.list()]

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: str) -> JSONResponse:
        job = jobs.get(job_id)
        if job is None:
            return JSONResponse({"detail": "no such job"}, status_code=404)
        return JSONResponse(job.as_dict())

    @app.post("/api/runs")
    async def api_start(request: Request) -> JSONResponse:
        if not header_token_ok(dict(request.headers), token):
            why = csrf_refusal(request, request.headers.get("x-csrf-token"))
            if why:
                return JSONResponse({"detail": f"refused: {why} (X-CSRF-Token header)"}, status_code=403)
        try:
            body = await request.json()
        except TooLarge:
            raise
        except (ValueError, RecursionError):
            return JSONResponse({"detail": "body must be a JSON object (not nested too deeply)"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"detail": "body must be a JSON object"}, status_code=400)
        if any(isinstance(v, (dict, list)) for v in body.values()):
            return JSONResponse({"detail": "body values must be strings or numbers"}, status_code=400)
        try:
            job = start({k: str(v) for k, v in body.items()})
        except FormError as exc:
            return JSONResponse({"detail": str(exc), "errors": exc.errors}, status_code=422)
        except DctwinError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return JSONResponse(job.as_dict(), status_code=202)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(Guard, token=token, allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes)
    return app
