"""`dctwin scenario validate` and `dctwin run` refuse through one check (dctwin.config.runnable).

Before: `scenario validate` said "valid" for a replayed job log asking for a GPU type no pool of the site has,
which `run` refused (exit 2) only after its site, operation and workload stages; and it checked DCTWIN_ENGINE
with its own call (typed pools and placement passed as literals).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from dctwin.buildout import installed_pools
from dctwin.config import load_scenario, packaged_scenarios
from dctwin.config.runnable import check_runnable, online_pools
from dctwin.errors import InputError
from dctwin.timeline import Timeline

TWO_TYPES = """\
    extends: borlange-2027
    name: two-types
    simulation: {duration_days: 1, step_s: 3600}
    phases:
      - name: phase-1
        start: 2027-01-01
        racks: [{platform: vr-nvl72, count: 10}, {platform: hgx-h100, count: 4}]
        power_envelope_mw: 23
      - name: later
        start: 2029-01-01
        racks: [{platform: gb200-nvl72, count: 2}]
        power_envelope_mw: 23
    workload: {jobs_path: jobs.csv}
"""


def _typed(tmp_path, types: list[str], extra: str = ""):
    rows = "".join(f"{i * 60},8,3600,{t}\n" for i, t in enumerate(types))
    (tmp_path / "jobs.csv").write_text("submit_s,gpus,duration_s,gpu_type\n" + rows, encoding="utf-8")
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(TWO_TYPES) + extra, encoding="utf-8")
    return p


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dctwin", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200", **env})


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_gpu_type_no_online_pool_has_is_refused_by_validate_and_run_alike(tmp_path, command):
    # MI300X is in no pool; GB200 racks come only after the span (2029): no pool of this run has them
    for bad in ("MI300X", "gb200-nvl72"):
        path = _typed(tmp_path, ["vr-nvl72", "", bad])
        args = ["scenario", "validate", str(path)] if command == "validate" else \
            ["run", str(path), "-q", "--no-report", "--out", str(tmp_path / f"run-{bad}")]
        r = _cli(*args)
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
        assert "row 2: the site has no GPUs of this type" in r.stderr and bad in r.stderr
        assert "jobs.csv" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / f"run-{bad}").exists()


def test_validate_accepts_what_run_accepts(tmp_path):
    path = _typed(tmp_path, ["vr-nvl72", "", "H100 SXM5 80GB", "hgx-h100|vr-nvl72"])
    r = _cli("scenario", "validate", str(path), DCTWIN_ENGINE="compiled")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("engine,placement,problem", [
    ("numba", "topology", "unknown engine path"), (" COMPILED ", "first_fit", "topology placement only")])
def test_run_refuses_the_engine_path_before_its_first_stage(tmp_path, monkeypatch, engine, placement, problem):
    # the same function `scenario validate` calls; the run used to refuse it only inside the cluster stage
    sc = load_scenario(_typed(tmp_path, ["vr-nvl72"], f"scheduler: {{placement: {placement}}}\n"))
    monkeypatch.setenv("DCTWIN_ENGINE", engine)
    with pytest.raises(InputError, match=problem) as e:
        check_runnable(sc)
    assert e.value.field == "DCTWIN_ENGINE"
    from dctwin.orchestrator import simulate

    with pytest.raises(InputError, match=problem):
        simulate(sc)


@pytest.mark.parametrize("name", [*packaged_scenarios(), "two-types"])
def test_online_platforms_are_the_pools_of_the_run(tmp_path, name):
    sc = load_scenario(_typed(tmp_path, [""]) if name == "two-types" else name)
    pools = installed_pools(sc, Timeline.from_config(sc.simulation))
    assert [(p.id, g) for p, g in online_pools(sc)] == [(p.platform.id, int(p.gpus_online.max())) for p in pools]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_the_check_and_the_run_read_each_input_file_once(tmp_path, monkeypatch, command):
    # the check before the run read the job table (and service profiles) again, outside the run's read_once
    from typer.testing import CliRunner

    from dctwin.cli import app
    from test_read_once import _opens

    path = _typed(tmp_path, ["vr-nvl72", "", "hgx-h100"])
    args = ["scenario", "validate", str(path)] if command == "validate" else \
        ["run", str(path), "-q", "--no-report", "--out", str(tmp_path / "r")]
    opens = _opens(monkeypatch, tmp_path / "jobs.csv")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert list(opens.values()) == [2], opens  # the scenario's type and size check (no read), then one read
