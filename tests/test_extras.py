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


CORE_CLOSURE = """
import sys, tomllib
from importlib import metadata
from packaging.requirements import Requirement
core = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
todo, seen = [Requirement(r) for r in core], set()
while todo:
    req = todo.pop()
    n = req.name.lower().replace("_", "-")
    if n in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
        continue
    seen.add(n)
    try:
        todo += [Requirement(r) for r in metadata.requires(n) or []]
    except metadata.PackageNotFoundError:
        pass
print(" ".join(sorted(seen)))
"""

RUN_AND_LIST = """
import sys
from importlib import metadata
sys.argv = ["dctwin", "run", sys.argv[1], "--out", sys.argv[2], "-q"]
from dctwin.cli import main
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
dists = metadata.packages_distributions()
used = {d.lower().replace("_", "-") for m in list(sys.modules) for d in dists.get(m.split(".")[0], [])}
print(" ".join(sorted(used - {"dctwin"})))
"""


def test_dctwin_run_with_its_report_needs_only_the_core_install(tmp_path):
    """Every installed distribution a short ``dctwin run`` (report included) imports is a core dependency or
    one of theirs, so ``pip install dctwin`` without extras runs it."""
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    core = set(subprocess.run([sys.executable, "-c", CORE_CLOSURE, str(repo / "pyproject.toml")], check=True,
                              capture_output=True, text=True).stdout.split())
    week = tmp_path / "week.yaml"
    week.write_text("extends: borlange-2027\nname: week\nsimulation:\n  duration_days: 3\n")
    done = subprocess.run([sys.executable, "-c", RUN_AND_LIST, str(week), str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    used = set(done.stdout.strip().splitlines()[-1].split())
    # loaded but never required: setuptools' _distutils_hack (by site, at start-up), and charset-normalizer,
    # which numpy.f2py imports when present
    used -= {"setuptools", "charset-normalizer"}
    assert used <= core, f"imported but not core dependencies: {sorted(used - core)}"


def test_report_png_without_kaleido_names_the_extra(tmp_path):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from run_fixture import make_run

    run_dir = make_run(tmp_path, "r", days=2)
    done = run_without(["kaleido"], "report", str(run_dir), "--png")
    assert done.returncode == 2, done.stderr
    assert "pip install 'dctwin[png]'" in done.stderr.replace("\n", "") and "Traceback" not in done.stderr
    assert not (run_dir / "figures").exists()
