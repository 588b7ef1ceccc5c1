"""A 7-day run's report says what is annualised and how; a compare of it with a year flags the
different spans and steps; monthly figures adapt to the span. Real runs of the default scenario."""

from __future__ import annotations

import json
import re

import pytest

from dctwin.report import write_comparison, write_report
from dctwin.report.data import load_run
from dctwin.report.figures import monthly_energy


def _run(root, name: str, days: int, step_s: int):
    from dctwin.config import load_scenario, scenario_from_dict
    from dctwin.orchestrator import run

    data = load_scenario().model_dump(mode="json")
    data["name"] = name
    data["simulation"]["duration_days"] = days
    data["simulation"]["step_s"] = step_s
    return run(scenario_from_dict(data), root / name).path


@pytest.fixture(scope="module")
def week_and_year(tmp_path_factory):
    root = tmp_path_factory.mktemp("spans")
    return _run(root, "week", 7, 900), _run(root, "year", 365, 3600)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_week_report_says_what_is_annualised(week_and_year):
    week, _ = week_and_year
    html = write_report(week).read_text(encoding="utf-8")
    assert 'id="span-warnings"' in html
    text = _text(html)
    assert "This run covers 7 days (168 h), not a year." in text
    assert "scaled by 52.1 to 8,760 h" in text
    kpis = json.loads((week / "kpis.json").read_text())
    per_gpu_h = f"{kpis['eur_per_gpu_hour_used']:.2f}"
    row = re.search(r'data-key="eur_per_gpu_hour_used".*?</tr>', html, re.S).group(0)
    assert per_gpu_h in row and "EUR/GPU-h" in row and "annualised from 7 days" in row
    energy = re.search(r'data-key="it_energy_mwh".*?</tr>', html, re.S).group(0)
    assert "simulated 7 days" in energy and "annualised" not in energy


def test_a_year_report_has_no_short_run_warning(week_and_year):
    _, year = week_and_year
    html = write_report(year).read_text(encoding="utf-8")
    assert 'id="span-warnings"' not in html
    row = re.search(r'data-key="tco_eur".*?</tr>', html, re.S).group(0)
    assert "10-year horizon" in row and "annualised" not in row


def test_compare_of_a_week_with_a_year_flags_spans_and_steps(week_and_year, tmp_path):
    week, year = week_and_year
    html = write_comparison([year, week], tmp_path / "cmp.html").read_text(encoding="utf-8")
    text = _text(html)
    assert "These runs cover different spans (year: 365 days, week: 7 days)" in text
    assert "different facility steps (year: 60-min steps, week: 15-min steps)" in text or \
           "different facility steps (year: 1-h steps, week: 15-min steps)" in text
    energy = re.search(r'data-key="it_energy_mwh".*?</tr>', html, re.S).group(0)
    assert "spans differ" in energy and "%" not in energy   # no "+8281 %" for a week against a year
    pue = re.search(r'data-key="pue".*?</tr>', html, re.S).group(0)
    assert "spans differ" not in pue


def test_compare_of_equal_spans_has_no_warning(week_and_year, tmp_path):
    week, _ = week_and_year
    html = write_comparison([week, week], tmp_path / "same.html").read_text(encoding="utf-8")
    assert 'id="span-warnings"' not in html and "spans differ" not in html


def test_monthly_figure_adapts_to_the_span(week_and_year):
    week, year = week_and_year
    daily = monthly_energy(load_run(week))
    assert daily.layout.xaxis.title.text == "day" and len(daily.data[0].x) == 7
    assert all(re.fullmatch(r"2027-01-0[1-7]", x) for x in daily.data[0].x)
    pue = [t for t in daily.data if t.name.startswith("PUE")][0]
    lo, hi = daily.layout.yaxis2.range
    assert 1.0 <= lo <= min(pue.y) and max(pue.y) <= hi < 1.3   # not 0.06-1.79
    monthly = monthly_energy(load_run(year))
    assert monthly.layout.xaxis.title.text == "month" and len(monthly.data[0].x) == 12
    assert monthly.data[0].x[0] == "2027-01"
