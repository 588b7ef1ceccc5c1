"""The live view in chromium: rows appended to a telemetry file appear on the chart without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dctwin.config import load_scenario
from dctwin.telemetry.live import LiveFollower
from dctwin.telemetry.mapping import TelemetryMap
from dctwin.web import create_app
from run_fixture import ServerThread

pytestmark = pytest.mark.browser

MAP = TelemetryMap.model_validate({"step_s": 60, "series": {
    "it_power_kw": {"source": "it", "unit": "kW"}, "grid_power_kw": {"source": "grid", "unit": "kW"}}})


def _rows(first: int, n: int) -> str:
    return "".join(f"2027-01-05T{m // 60:02d}:{m % 60:02d}:00Z,{15000 + 10 * m},{16400 + 11 * m}\n"
                   for m in range(first, first + n))


def test_live_rows_appear_without_reload(browser, page_log, artifacts, tmp_path):
    path = tmp_path / "live.csv"
    path.write_text("time,it,grid\n" + _rows(0, 30))
    app = create_app(tmp_path / "runs", live=LiveFollower(load_scenario(), MAP, str(path)), write_reports=False)
    with ServerThread(app) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        log = page_log(page)
        page.goto(server.url + "/live")
        expect(page.locator("#live-rows")).to_have_text("30", timeout=20_000)
        n_before = page.evaluate("document.getElementById('live-chart').data[0].x.length")
        with path.open("a") as fh:
            fh.write(_rows(30, 15))
        expect(page.locator("#live-rows")).to_have_text("45", timeout=20_000)
        n_after = page.evaluate("document.getElementById('live-chart').data[0].x.length")
        assert (n_before, n_after) == (30, 45)
        names = page.evaluate("document.getElementById('live-chart').data.map(t => t.name)")
        assert names == ["IT power [kW]", "measured site power from the grid [kW]",
                         "model: site power from the grid [kW]"]
        page.screenshot(path=str(artifacts / "live-view.png"), full_page=True)
        assert log.errors == []
