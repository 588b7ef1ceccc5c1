"""A command whose optional dependency is missing says which extra to install, and exits 2; the core run
does not import what it does not use."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK_AND_RUN = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None          # as if the extra were not installed
sys.argv = ["dctwin", *{argv!r}]
from dctwin.cli import main
main()
"""


def run_without(blocked: list[str], *argv: str) -> subprocess.CompletedProcess:
    code = BLOCK_AND_RUN.format(blocked=blocked, argv=list(argv))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"COLUMNS": "200", **__import__("os").environ})


@pytest.mark.parametrize(("blocked", "argv", "extra"), [
    (["duckdb"], ["query", "no-such-run", "SELECT 1"], "query"),
    (["fastapi"], ["serve", "--help-not-an-option"], "web"),
    (["highspy"], ["plan", "--out", "plan-out-never-written"], "plan"),
])
def test_missing_extra_names_the_extra(blocked, argv, extra, tmp_path):
    if argv[0] == "serve":
        argv = ["serve", "--runs", str(tmp_path)]
    if argv[0] == "plan":
        argv = ["plan", "--out", str(tmp_path / "p")]
    done = run_without(blocked, *argv)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'dctwin[{extra}]'" in done.stderr.replace("\n", "")
    assert "Traceback" not in done.stderr


def test_a_short_run_imports_no_optional_or_plotting_package():
    code = ("import sys, dctwin\n"
            "from dctwin.config.load import load_scenario, scenario_from_dict\n"
            "d = load_scenario().model_dump(mode='json'); d['simulation']['duration_days'] = 2\n"
            "dctwin.simulate(scenario_from_dict(d, source='t'))\n"
            "heavy = ['plotly', 'matplotlib', 'fastapi', 'ray', 'duckdb', 'highspy', 'uvicorn', 'jinja2']\n"
            "print(','.join(m for m in heavy if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_help_imports_no_model_code():
    code = ("import sys\nsys.argv = ['dctwin', '--help']\nfrom dctwin.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in ('pandas', 'scipy', 'pydantic', 'dctwin.config', 'dctwin.workload.jobs') "
            "if m in sys.modules]\nprint('LOADED', ','.join(loaded), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "LOADED \n" in done.stderr or done.stderr.rstrip().endswith("LOADED"), done.stderr[-500:]
