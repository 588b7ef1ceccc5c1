"""What users get wrong at the command line (fifth hardening pass): each was silent, misleading or half-done.

Every case here failed on the code before this pass: Ctrl-C exited 130 without a word (typer swallowed the
interrupt before dctwin's handler), `scenario validate` printed "valid" and then failed on a weather file that
`run` accepts, a misspelt field did not say which field was meant, and a spreadsheet's ';' or UTF-16 CSV
export was reported as a missing column (or read with replacement characters).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from dctwin.config import load_scenario
from dctwin.errors import InputError, ScenarioError

HEAD = "extends: borlange-2027\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"


def _scenario(tmp_path, body: str = "", name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return p


def _weather_text(days: int = 3) -> str:
    stamps = pd.date_range("2027-01-01", periods=24 * days, freq="h").strftime("%Y-%m-%d %H:%M")
    rows = [f"{s},{-5 + np.sin(i / 5):.2f},80.0" for i, s in enumerate(stamps)]
    return "timestamp,dry_bulb_c,rel_humidity_pct\n" + "\n".join(rows) + "\n"


# ---------------------------------------------------------------- Ctrl-C
def test_ctrl_c_mid_run_says_so_and_leaves_nothing(tmp_path):
    """SIGINT once the run is staged: exit 130 with one line saying so, no traceback, no run or staging left."""
    out = tmp_path / "runs" / "r"
    out.parent.mkdir()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "dctwin", "run", "borlange-2027", "--out", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal has it
    deadline = time.monotonic() + 300
    while (not any(p.name.startswith(".dctwin-partial-") for p in out.parent.iterdir()) and proc.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.02)  # wait until the run has started writing its staging folder
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    text = stderr.decode()
    assert "interrupted" in text and "Traceback" not in text, text
    assert proc.returncode == 130  # never by the signal (dctwin.interrupt)
    assert list(out.parent.iterdir()) == []


# ---------------------------------------------------------------- scenario validate
def test_validate_accepts_a_weather_file_that_covers_the_run(tmp_path, cli):
    """A CSV covering the run (not a year) is what `run` accepts: validate said "valid" and then exited 2."""
    (tmp_path / "w.csv").write_text(_weather_text(3), encoding="utf-8")
    sc = _scenario(tmp_path, "site: {climate: {source: csv, path: w.csv}}\n")
    proc = cli("scenario", "validate", str(sc))
    assert proc.returncode == 0, proc.stderr
    assert "valid scenario" in proc.stdout
    assert "over the run's 48 h only" in " ".join(proc.stderr.split())


def test_validate_never_prints_valid_before_an_error(tmp_path, cli):
    (tmp_path / "w.csv").write_text(_weather_text(3).replace(",", ";"), encoding="utf-8")
    proc = cli("scenario", "validate", str(_scenario(tmp_path, "site: {climate: {source: csv, path: w.csv}}\n")))
    assert proc.returncode == 2
    assert "valid" not in proc.stdout and "Traceback" not in proc.stderr
    assert "separated by semicolons" in proc.stderr


# ---------------------------------------------------------------- misspelt or renamed fields
@pytest.mark.parametrize(("body", "field", "meant"), [
    ("simulation: {duration_day: 2}\n", "simulation.duration_day", "duration_days"),
    ("site: {climate: {sorce: synthetic}}\n", "site.climate.sorce", "source"),
    ("facility: {coolng: {}}\n", "facility.coolng", "cooling"),
])
def test_unknown_field_names_the_field_meant(tmp_path, body, field, meant):
    doc = tmp_path / "x.yaml"
    doc.write_text("extends: borlange-2027\nname: p\n" + body, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert f"field '{field}': unknown field (did you mean '{meant}'?" in str(info.value)


def test_unknown_field_with_nothing_close_still_says_where_the_fields_are(tmp_path):
    with pytest.raises(ScenarioError, match=r"unknown field \(check the spelling; `dctwin scenario schema`"):
        load_scenario(_scenario(tmp_path, "zzzzz: 1\n"))


# ---------------------------------------------------------------- CSV exports
def _site_csv(tmp_path, text: str | bytes):
    p = tmp_path / "w.csv"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("mangle", "words"), [
    (lambda t: t.replace(",", ";"), "separated by semicolons"),
    (lambda t: t.replace(",", ";").replace(".", ","), "separated by semicolons"),   # decimal comma too
    (lambda t: t.replace(",", "\t"), "separated by tabs"),
    (lambda t: t.encode("utf-16"), "not UTF-8 text"),
    (lambda t: (t + "2027-01-04 00:00,-5,80 \xb0\n").encode("latin-1"), "not UTF-8 text"),
])
def test_site_csv_exports_are_refused_by_name(tmp_path, mangle, words):
    from dctwin.site import read_weather_csv

    with pytest.raises(InputError, match=words):
        read_weather_csv(_site_csv(tmp_path, mangle(_weather_text(3))))


@pytest.mark.parametrize("mangle", [
    lambda t: ("\ufeff" + t).encode("utf-8"),            # Excel's 'CSV UTF-8' starts with a byte-order mark
    lambda t: t.replace("\n", "\r\n").encode("utf-8"),   # Windows line ends
    lambda t: (t + "\n").encode("utf-8"),                # a trailing empty line
])
def test_site_csv_harmless_variants_read_the_same(tmp_path, mangle):
    from dctwin.site import read_weather_csv

    plain = read_weather_csv(_site_csv(tmp_path, _weather_text(3)))
    pd.testing.assert_frame_equal(read_weather_csv(_site_csv(tmp_path, mangle(_weather_text(3)))), plain)


def test_telemetry_csv_with_semicolons_is_refused_by_name(tmp_path):
    from dctwin.telemetry.readers import _read_csv

    with pytest.raises(InputError, match="separated by semicolons"):
        _read_csv(b"time;it_kw\n2027-01-01T00:00Z;5\n", str(tmp_path / "t.csv"))


# ---------------------------------------------------------------- sweeps: one writer per folder, same bytes
SWEEP = """\
name: tiny
base: borlange-2027
overrides: {simulation: {duration_days: 1, step_s: 3600}}
axes:
  - field: facility.cooling.liquid_supply_temp_c
    values: [35, 45]
monte_carlo: {repetitions: 1, seed_start: 3}
"""


def test_same_sweep_same_bytes(tmp_path):
    """runs.parquet carried each run's wall-clock time: two identical sweeps differed in their bytes."""
    from dctwin.sweep import run_sweep

    (tmp_path / "s.yaml").write_text(SWEEP, encoding="utf-8")
    for name, workers in (("a", 1), ("b", 2)):
        run_sweep(tmp_path / "s.yaml", tmp_path / name, workers=workers)
    for table in ("runs", "summary", "sensitivity"):
        assert (tmp_path / "a" / f"{table}.parquet").read_bytes() == (tmp_path / "b" / f"{table}.parquet").read_bytes()


def test_second_sweep_into_a_busy_folder_is_refused(tmp_path):
    """Two sweeps into one folder both ran every run (and --fresh deleted the other's records under it)."""
    import fcntl

    from dctwin.sweep import run_sweep
    from dctwin.sweep.store import LOCK

    (tmp_path / "s.yaml").write_text(SWEEP, encoding="utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    with open(folder / LOCK, "w") as held:  # what a running sweep holds
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another dctwin sweep is writing this folder"):
            run_sweep(tmp_path / "s.yaml", folder, workers=1, fresh=True)
    assert sorted(p.name for p in folder.iterdir()) == [LOCK]
    run_sweep(tmp_path / "s.yaml", folder, workers=1)  # released: the same process may sweep into it again
    assert len(run_sweep(tmp_path / "s.yaml", folder, workers=1).runs) == 2


# ---------------------------------------------------------------- outputs: never over a file, never half a folder
def _two_runs(tmp_path):
    from run_fixture import make_run

    return [make_run(tmp_path, "a", days=2), make_run(tmp_path, "b", days=2, seed=2)]


@pytest.mark.parametrize("name", ["results.csv", "scenario.yaml", "notes.json"])
def test_compare_never_writes_html_over_another_kind_of_file(tmp_path, name):
    from dctwin.report import write_comparison

    target = tmp_path / name
    target.write_text("the user's own data\n", encoding="utf-8")
    with pytest.raises(InputError, match="unsupported output file type"):
        write_comparison(_two_runs(tmp_path), target)
    assert target.read_text(encoding="utf-8") == "the user's own data\n"


def test_an_existing_output_file_is_replaced_only_with_force(tmp_path, cli):
    runs = _two_runs(tmp_path)
    target = tmp_path / "cmp.html"
    target.write_text("an earlier comparison", encoding="utf-8")
    proc = cli("compare", *map(str, runs), "-o", str(target))
    assert proc.returncode == 2 and "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_text(encoding="utf-8") == "an earlier comparison"
    proc = cli("compare", *map(str, runs), "-o", str(target), "--force")
    assert proc.returncode == 0, proc.stderr
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_schema_and_fit_do_not_overwrite_the_users_files(tmp_path, cli):
    scenario = _scenario(tmp_path)
    text = scenario.read_text(encoding="utf-8")
    proc = cli("scenario", "schema", "-o", str(scenario))  # meant: a template scenario; got: the scenario lost
    assert proc.returncode == 2 and scenario.read_text(encoding="utf-8") == text
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("submit_s,gpus,duration_s\n" + "".join(f"{i * 60},8,{3600 + i}\n" for i in range(50)))
    before = jobs.read_bytes()
    proc = cli("workload", "fit", str(jobs), "-o", str(jobs))  # the trace itself as the profile
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and jobs.read_bytes() == before


def test_plan_never_writes_among_an_earlier_plans_files(tmp_path):
    """plan -o into a folder holding an earlier plan replaced design.yaml and left the old confirm.csv beside it."""
    from typer.testing import CliRunner

    from dctwin.plan.cli import plan_app

    out = tmp_path / "plan"
    out.mkdir()
    (out / "confirm.csv").write_text("an earlier design's confirmation\n", encoding="utf-8")
    r = CliRunner().invoke(plan_app, ["--min-training-pflops", "10000", "--grid-mw", "30", "--out", str(out)])
    assert r.exit_code == 2 and "not empty" in r.output
    assert [p.name for p in out.iterdir()] == ["confirm.csv"]


def test_an_interrupted_output_folder_leaves_nothing(tmp_path):
    from dctwin.safeout import staged_folder

    out = tmp_path / "new" / "example"
    with pytest.raises(KeyboardInterrupt), staged_folder(out) as stage:
        (stage / "telemetry.csv").write_text("half", encoding="utf-8")
        raise KeyboardInterrupt
    assert list((tmp_path / "new").iterdir()) == []
    with staged_folder(out) as stage:
        (stage / "telemetry.csv").write_text("whole", encoding="utf-8")
    assert [p.name for p in out.iterdir()] == ["telemetry.csv"]
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["example"]


def test_telemetry_example_refuses_a_folder_with_files(tmp_path, cli):
    out = tmp_path / "tel"
    out.mkdir()
    (out / "mine.csv").write_text("x", encoding="utf-8")
    proc = cli("telemetry", "example", "-o", str(out), "--days", "1")
    assert proc.returncode == 2 and "not empty" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in out.iterdir()] == ["mine.csv"]


# ---------------------------------------------------------------- run: where it writes, checked before it runs
@pytest.fixture
def no_simulation(monkeypatch):
    """The run's work, replaced by a failure: a destination check must come before it."""
    import dctwin.orchestrator

    def refuse(*args, **kwargs):
        raise AssertionError("the run started before its output folder was checked")

    monkeypatch.setattr(dctwin.orchestrator, "simulate", refuse)


def _short():
    from dctwin.config import scenario_from_dict

    return scenario_from_dict({**load_scenario().model_dump(mode="json"), "simulation": {"duration_days": 1}})


def test_out_under_a_file_is_refused_before_the_run(tmp_path, no_simulation):
    from dctwin.orchestrator import run

    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="cannot create the output folder"):
        run(_short(), out_dir=tmp_path / "f" / "run")


def test_no_run_is_written_inside_a_finished_run(tmp_path, no_simulation):
    """`run -o RUN/nested` wrote a second run into a finished one (runs are never modified)."""
    from dctwin.orchestrator import run
    from run_fixture import make_run

    done = make_run(tmp_path, "done", days=2)
    before = sorted(p.name for p in done.iterdir())
    with pytest.raises(InputError, match="inside a run directory"):
        run(_short(), out_dir=done / "nested")
    assert sorted(p.name for p in done.iterdir()) == before


@pytest.mark.parametrize("where", ["inside_run", "same", "under_out"])
def test_stage_cache_never_lands_in_a_run(tmp_path, no_simulation, where):
    """--cache RUN filled a finished run with stage folders; --cache OUT made the run fail only after it ran."""
    from dctwin.orchestrator import run
    from run_fixture import make_run

    done = make_run(tmp_path, "done", days=2)
    out = tmp_path / "new"
    cache = {"inside_run": done, "same": out, "under_out": out / "cache"}[where]
    with pytest.raises(InputError, match="--cache"):
        run(_short(), out_dir=out, cache=cache)
    assert not out.exists() and not (done / "site").exists()


def test_replay_and_calibrate_never_write_into_a_finished_run(tmp_path, cli):
    """replay -o RUN/x, calibrate -o RUN/cal.yaml and --replay-out RUN/x all wrote into a finished run."""
    from run_fixture import make_run

    done = make_run(tmp_path, "done", days=2)
    before = sorted(p.name for p in done.iterdir())
    tel = tmp_path / "tel"
    assert cli("telemetry", "example", "-o", str(tel), "--days", "1").returncode == 0
    data = (str(tel / "telemetry.csv"), "-m", str(tel / "mapping.yaml"))
    for args in (("replay", "borlange-2027", *data, "-o", str(done / "replay")),
                 ("calibrate", "borlange-2027", *data, "-o", str(done / "cal.yaml")),
                 ("calibrate", "borlange-2027", *data, "-o", str(tmp_path / "cal.yaml"),
                  "--replay-out", str(done / "replay"))):
        proc = cli(*args)
        assert proc.returncode == 2 and "inside a run directory" in proc.stderr, proc.stderr
    assert sorted(p.name for p in done.iterdir()) == before and not (tmp_path / "cal.yaml").exists()


def test_write_run_dir_refuses_a_folder_inside_a_run(tmp_path):
    from dctwin.results import write_run_dir
    from run_fixture import make_run

    done = make_run(tmp_path, "done", days=2)
    with pytest.raises(InputError, match="inside a run directory"):
        write_run_dir(done / "nested", {}, {}, {})
    assert not (done / "nested").exists()


def test_a_folder_given_as_the_scenario_is_named_as_such(tmp_path, cli):
    proc = cli("scenario", "validate", str(tmp_path))
    assert proc.returncode == 2 and "a folder, not a scenario file" in proc.stderr
