"""The standalone report opens in chromium offline: figures drawn, no console errors, no network."""

from __future__ import annotations

import pytest
from browser_helpers import pipeline_ready, rendered_figures

from dctwin.report import write_comparison, write_report
from run_fixture import make_run

pytestmark = pytest.mark.browser


def _open(browser, page_log, path, artifacts, shot: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = page_log(page)
    page.goto(path.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('div.figure[data-drawn]').length === "
                           "document.querySelectorAll('div.figure').length", timeout=30_000)
    figs = rendered_figures(page)
    page.screenshot(path=str(artifacts / shot), full_page=True)
    page.close()
    return figs, log


def test_report_opens_offline_without_errors(browser, page_log, tmp_path, artifacts):
    run_dir = make_run(tmp_path, "browser-report")
    figs, log = _open(browser, page_log, write_report(run_dir), artifacts, "report-fixture.png")
    assert len(figs) >= 8
    for key, f in figs.items():
        assert f["svgs"] > 0 and f["marks"] > 0 and f["width"] > 100 and f["height"] > 100, (key, f)
    assert log.errors == []
    assert log.off_machine() == []


def test_comparison_opens_offline_without_errors(browser, page_log, tmp_path, artifacts):
    a = make_run(tmp_path, "a", seed=1)
    b = make_run(tmp_path, "b", seed=2, pue_offset=0.05)
    figs, log = _open(browser, page_log, write_comparison([a, b], tmp_path / "cmp.html"), artifacts,
                      "comparison-fixture.png")
    assert len(figs) >= 4 and all(f["svgs"] > 0 for f in figs.values())
    assert log.errors == [] and log.off_machine() == []


@pytest.mark.slow
def test_default_run_report_opens_offline_without_errors(browser, page_log, tmp_path, artifacts):
    if not pipeline_ready():
        pytest.skip("the simulation pipeline is not integrated yet")
    from dctwin.orchestrator import run

    result = run(None, tmp_path / "default")
    figs, log = _open(browser, page_log, write_report(result.path), artifacts, "report-default-run.png")
    assert figs and all(f["svgs"] > 0 for f in figs.values())
    assert log.errors == [], log.errors
    assert log.off_machine() == []
