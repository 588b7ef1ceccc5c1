"""The dashboard: FastAPI app listing runs, drawing figures, comparing runs and starting new ones.

Pages are server-rendered Jinja2 (autoescaped); figures are the report's
plotly figures, drawn by plotly.js served from the installed plotly package,
so the browser loads nothing from the internet. The routes live in
``dctwin.web.routes``; this module holds what they share (:class:`Dashboard`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from dctwin.errors import InputError
from dctwin.results.run_dir import verify_run_dir
from dctwin.results.schema import field
from dctwin.web.form import FIELDS, FormError, build_scenario, default_run_name, parse_form, policy_names
from dctwin.web.jobs import Job, JobManager, Runner
from dctwin.web.runs import RunStore
from dctwin.web.security import CSRF_COOKIE, LOOPBACK_HOSTS, Csrf, Guard, new_csrf, own_origin

__all__ = ["Dashboard", "create_app"]

_CSRF_SLOT = "csrf-slot-" + secrets.token_hex(12)   # stands in for the per-session token in cached pages

_ENV = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("dctwin.web", "templates"),
                                jinja2.PackageLoader("dctwin.report", "templates"),
                                jinja2.PackageLoader("dctwin.telemetry", "templates")]),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
_ENV.globals["kpi_value"] = lambda key, value: field(key, "kpis").format(value)


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


@dataclasses.dataclass
class Dashboard:
    """What every route shares: the run store, the job manager, the page caches and the CSRF checker."""

    store: RunStore
    jobs: JobManager
    token: str | None
    csrf: Csrf = dataclasses.field(default_factory=Csrf)
    pages: _LRU = dataclasses.field(default_factory=_LRU)
    rendered: _LRU = dataclasses.field(default_factory=lambda: _LRU(size=8, builders=2))

    def page(self, request: Request, template: str, status: int = 200, cache_key: Any = None,
             **ctx: Any) -> HTMLResponse:
        """Render ``template``; with ``cache_key`` the HTML is rendered once and only the CSRF token swapped."""
        session = request.cookies.get(CSRF_COOKIE) or ""
        if not (16 <= len(session) <= 64 and session.replace("-", "").replace("_", "").isalnum()):
            session = new_csrf()
        token_ = self.csrf.token(session, own_origin(dict(request.headers), request.url.scheme))
        if cache_key is None:
            html = _ENV.get_template(template).render(csrf=token_, **ctx)
        else:
            html = self.rendered.get((template, cache_key), lambda: _ENV.get_template(template).render(
                csrf=_CSRF_SLOT, **ctx)).replace(_CSRF_SLOT, token_)
        resp = HTMLResponse(html, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != session:
            resp.set_cookie(CSRF_COOKIE, session, httponly=True, samesite="strict", path="/")
        return resp

    def csrf_refusal(self, request: Request, submitted: str | None) -> str | None:
        return self.csrf.check(request.cookies.get(CSRF_COOKIE), submitted, dict(request.headers),
                               request.url.scheme)

    def error_page(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.page(request, "error.html", status=status, message=message, title="Error")

    def form_page(self, request: Request, values: dict[str, Any], errors: dict[str, str],
                  status: int = 200) -> HTMLResponse:
        return self.page(request, "new.html", status=status, title="New run", values=values, errors=errors,
                         fields=FIELDS, policies=policy_names())

    def resolve(self, name: str):
        """(path, None) or (None, (status, message)); a run whose files changed is refused (409)."""
        try:
            path = self.store.path(name)
        except InputError as exc:
            return None, (400, str(exc))
        except FileNotFoundError:
            return None, (404, f"no complete run named {name[:80]!r}")
        problems = verify_run_dir(path)
        if problems:
            return None, (409, f"run {name!r} was changed after it finished and is refused: " + "; ".join(problems[:5]))
        return path, None

    @staticmethod
    def base_scenario() -> dict[str, Any]:
        from dctwin.config import load_scenario

        return load_scenario().model_dump(mode="json")

    def start(self, form: dict[str, str]) -> Job:
        """Start a run from submitted form fields; :class:`FormError` names the fields refused."""
        values = parse_form(form)
        scenario = build_scenario(self.base_scenario(), values)
        name = values["run_name"] or default_run_name(scenario.name)
        if self.store.exists(name) or self.jobs.reserved(name):
            raise FormError({"run_name": f"a run named {name!r} exists already; choose another name"})
        return self.jobs.submit(scenario, name)


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
    from dctwin.web import routes

    store = RunStore(Path(runs_dir))
    after = None
    if write_reports:
        from dctwin.report import write_report as after
    jobs = JobManager(store.root, runner=runner, after=after, max_runs=max_runs, min_free_mb=min_free_mb)
    dash = Dashboard(store=store, jobs=jobs, token=token)
    if allowed_hosts is None and token is None:
        allowed_hosts = list(LOOPBACK_HOSTS)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        jobs.shutdown()

    app = FastAPI(title="dctwin dashboard", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.store, app.state.jobs = store, jobs
    if live is not None:
        from dctwin.web.live import live_router

        app.include_router(live_router(live, dash.page))
    routes.add_static_routes(app)
    routes.add_run_pages(app, dash)
    routes.add_run_files(app, dash)
    routes.add_compare_page(app, dash)
    routes.add_form_pages(app, dash)
    routes.add_api_routes(app, dash)
    app.add_middleware(Guard, token=token, allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes)
    return app
