"""CLI output: bracketed units in help and errors are shown literally; fixed-choice options refuse other
values with exit 2; the run summary takes labels and units from the results schema."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "COLUMNS": "120"}


def _dctwin(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dctwin", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=300, check=False)


def test_help_shows_bracketed_units():
    done = _dctwin("plan", "--help")
    assert done.returncode == 0
    assert "White space [m2]." in done.stdout
    assert "[tCO2/year]" in done.stdout and "Most capex [EUR]." in done.stdout
    assert "White space ." not in done.stdout


def test_error_keeps_bracketed_text(tmp_path):
    sweep = tmp_path / "bad.yaml"
    sweep.write_text('name: s\nbase: borlange-2027\naxes:\n  - {field: "phases[x]..racks", values: [1, 2]}\n')
    done = _dctwin("sweep", str(sweep), "-o", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "dotted names with [index], e.g. phases[0].racks[0].count" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("fmt", ["xml", "TABLE", ""])
def test_query_refuses_an_unknown_format(tmp_path, fmt):
    from run_fixture import make_run

    run = make_run(tmp_path, "q", days=2)
    done = _dctwin("query", str(run), "SELECT 1 AS x", "--format", fmt)
    assert done.returncode == 2, done.stdout
    assert "table" in done.stderr and "csv" in done.stderr and "json" in done.stderr


def test_query_formats_that_exist(tmp_path):
    from run_fixture import make_run

    run = make_run(tmp_path, "q", days=2)
    assert _dctwin("query", str(run), "SELECT 1 AS x", "--format", "csv").stdout == "x\n1\n"
    assert _dctwin("query", str(run), "SELECT 1 AS x", "--format", "json").stdout.strip() == '[{"x":1}]'


def test_run_summary_has_units_and_a_short_run_note(tmp_path):
    scenario = tmp_path / "week.yaml"
    scenario.write_text("extends: borlange-2027\nname: week\nsimulation:\n  duration_days: 3\n")
    done = _dctwin("run", str(scenario), "-o", str(tmp_path / "run"), "-q", "--no-report")
    assert done.returncode == 0, done.stderr
    for label, unit in (("Cost per GPU-hour used", "EUR/GPU-h"), ("Mean GPU utilisation", "%"),
                        ("IT energy", "MWh"), ("Jobs completed", "count")):
        line = next(ln for ln in done.stdout.splitlines() if label in ln)
        assert unit in line, line
    jobs = next(ln for ln in done.stdout.splitlines() if "Jobs completed" in ln)
    assert ".000" not in jobs
    assert "This run covers 3 days (72 h), not a year." in " ".join(done.stderr.split())


def test_plan_prints_the_chosen_design_and_its_constraints(tmp_path):
    done = _dctwin("plan", "--min-training-pflops", "5000", "--grid-mw", "30", "-o", str(tmp_path / "plan"))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "HiGHS" not in text and "HiGHS" not in done.stderr   # no solver banner
    for what in ("Racks", "Cooling", "Heat reuse", "Power-chain redundancy", "PPA share", "Capex",
                 "PUE, planner estimate", "Cost per GPU-hour available", "Training target (min_training_pflops)",
                 "Grid connection (peak draw)"):
        assert what in text, what
    assert "EUR/GPU-h" in text and "kWh/kWh" in text
    assert "to spare" in text or "binds" in text


def test_plan_help_lists_every_constraint_key():
    from dctwin.plan.constraints import PlanConstraints

    done = _dctwin("plan", "--help")
    for key in PlanConstraints.model_fields:
        assert f"{key}:" in done.stdout, key
