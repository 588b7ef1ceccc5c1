"""A real chromium attack: a page on another loopback port plants the session cookie and auto-submits the run
form to the dashboard. No run may start."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from dctwin.web import create_app
from run_fixture import ServerThread, fake_runner

PLANTED = "planted-by-attacker-0123456789"


def _attacker(where: dict[str, str]) -> FastAPI:
    app = FastAPI()
    page = """<!doctype html><html><body>
<form id="f" method="post" action="TARGET/runs">
<input name="csrf_token" value="PLANTED"><input name="racks" value="10"><input name="run_name" value="pwned">
<input name="liquid_supply_temp_c" value="45"><input name="power_cap_mw" value="23">
<input name="duration_days" value="2"><input name="policy" value="easy_backfill"><input name="description" value="">
</form>
<script>
for (const n of ["dctwin_csrf", "dctwin_session"]) document.cookie = n + "=PLANTED; path=/";
document.getElementById("f").submit();
</script></body></html>"""

    @app.get("/")
    def index() -> HTMLResponse:
        return HTMLResponse(page.replace("TARGET", where["target"]).replace("PLANTED", PLANTED))

    return app


def test_cross_port_page_cannot_start_a_run(browser, tmp_path):
    dashboard = create_app(tmp_path, None, runner=fake_runner(), write_reports=False)
    where: dict[str, str] = {}
    with ServerThread(dashboard) as victim, ServerThread(_attacker(where)) as attacker:
        where["target"] = victim.url
        context = browser.new_context()
        page = context.new_page()
        page.goto(attacker.url + "/")
        time.sleep(3.0)                                   # the form posts itself and the answer loads
        context.close()
    assert [j.run_name for j in dashboard.state.jobs.list()] == []
    assert not (tmp_path / "pwned").exists()
