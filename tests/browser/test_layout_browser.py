"""Layouts hold at 800, 1280 and 1920 px and in print: report, dashboard run page and compare, on real
runs (7 days and a year). No figure overlaps another or a section, no drawing spills out of its box, no
legend covers a plot, no tick label is cut off, and every KPI row has a label and a unit.
Screenshots: test-artifacts/layout-*.png."""

from __future__ import annotations

import pytest
from browser_helpers import KPI_ROWS_JS, check_page, kpi_row_problems

from dctwin.report import write_comparison, write_report
from dctwin.web import create_app
from run_fixture import ServerThread, fake_runner

pytestmark = pytest.mark.browser


def _real_run(root, name: str, days: int, step_s: int):
    from dctwin.config import load_scenario, scenario_from_dict
    from dctwin.orchestrator import run

    data = load_scenario().model_dump(mode="json")
    data["name"] = name
    data["simulation"]["duration_days"] = days
    data["simulation"]["step_s"] = step_s
    return run(scenario_from_dict(data), root / name, finish=write_report).path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout-runs")
    return root, _real_run(root, "week", 7, 900), _real_run(root, "year", 365, 3600)


def _check(browser, page_log, url: str, prefix) -> tuple[list[str], list[str], list[dict]]:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    log = page_log(page)
    page.goto(url)
    problems = check_page(page, prefix)
    rows = page.evaluate(KPI_ROWS_JS)
    page.close()
    return problems, log.errors, rows


def test_report_layout_at_three_widths_and_print(browser, page_log, runs, artifacts):
    _, week, _ = runs
    problems, errors, rows = _check(browser, page_log, (week / "report.html").as_uri(), artifacts / "layout-report")
    assert problems == [] and errors == []
    assert len(rows) > 80 and kpi_row_problems(rows) == []


def test_compare_layout_at_three_widths_and_print(browser, page_log, runs, artifacts, tmp_path):
    _, week, year = runs
    html = write_comparison([year, week], tmp_path / "cmp.html")
    problems, errors, rows = _check(browser, page_log, html.as_uri(), artifacts / "layout-compare")
    assert problems == [] and errors == []
    assert len(rows) > 80 and kpi_row_problems(rows) == []


def test_dashboard_layout_at_three_widths_and_print(browser, page_log, runs, artifacts):
    root, _, _ = runs
    with ServerThread(create_app(root, None, runner=fake_runner())) as server:
        problems, errors, rows = _check(browser, page_log, server.url + "/runs/week", artifacts / "layout-dashboard")
        cmp_problems, cmp_errors, cmp_rows = _check(browser, page_log, server.url + "/compare?run=year&run=week",
                                                    artifacts / "layout-dashboard-compare")
    assert problems == [] and errors == [] and cmp_problems == [] and cmp_errors == []
    assert kpi_row_problems(rows) == [] and kpi_row_problems(cmp_rows) == [] and len(rows) > 80


def test_the_layout_check_catches_an_overlap(browser, page_log, runs, artifacts):
    """The checker is not blind: squeezing a figure's box makes its drawing spill over the next section."""
    _, week, _ = runs
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto((week / "report.html").as_uri())
    page.wait_for_function("document.querySelectorAll('div.figure[data-drawn]').length > 3")
    page.add_style_tag(content="#fig-cost_breakdown { height: 200px !important; overflow: visible !important; "
                               "min-height: 0 !important; }")
    from browser_helpers import LAYOUT_JS, layout_problems

    problems = layout_problems(page.evaluate(LAYOUT_JS))
    page.close()
    assert any("fig-cost_breakdown" in p for p in problems), problems


RACK_JS = """() => {
  const box = document.querySelector('#fig-rack_power');
  if (!box) return null;
  const r = box.getBoundingClientRect(), img = box.querySelector('.heatmaplayer image');
  const ir = img ? img.getBoundingClientRect() : null, tr = box.querySelector('.gtitle').getBoundingClientRect();
  return {box: [r.left, r.top, r.right, r.bottom], image: ir && [ir.left, ir.top, ir.right, ir.bottom],
          title_box: [tr.left, tr.top, tr.right, tr.bottom],
          yticks: box.querySelectorAll('.ytick text').length, title: (box.querySelector('.gtitle') || {}).textContent,
          colorbar: (box.querySelector('.cbtitle') || {}).textContent};
}"""


def test_rack_view_renders_at_three_widths(browser, runs, artifacts):
    """The hall by rack (report and dashboard): a heat map inside its box, rack labels, title and colour bar
    with units, at 800, 1280 and 1920 px; element screenshots in test-artifacts/rack-*.png."""
    root, week, _ = runs
    with ServerThread(create_app(root, None, runner=fake_runner())) as server:
        for where, url in (("report", (week / "report.html").as_uri()), ("dashboard", server.url + "/runs/week")):
            for width in (800, 1280, 1920):
                page = browser.new_page(viewport={"width": width, "height": 1000})
                page.goto(url)
                page.wait_for_function("document.querySelector('#fig-rack_power[data-drawn] .heatmaplayer image')")
                got = page.evaluate(RACK_JS)
                page.locator("#fig-rack_power").screenshot(path=str(artifacts / f"rack-{where}-{width}.png"))
                page.close()
                (left, top, right, bottom), (il, it, ir, ib) = got["box"], got["image"]
                assert left - 1 <= il < ir <= right + 1 and top - 1 <= it < ib <= bottom + 1, (where, width, got)
                assert ir - il > 0.4 * (right - left), (where, width, got)   # the map, not a sliver
                tl, tt, tr, tb = got["title_box"]
                assert left - 1 <= tl and tr <= right + 1 and top - 1 <= tt and tb <= it, (where, width, got)
                assert got["yticks"] >= 10 and "[kW]" in got["title"] and "kW" in got["colorbar"], (where, width, got)
