"""Hardening pass 8 (issue #21's standard): one check before a run directory is written, same seed same bytes for
every file of a run directory, Ctrl-C always ends in the documented message and exit code, and every accepted
scenario field acts or is refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.results import write_run_dir
from dctwin.safeout import check_new_run_dir


def _tables() -> dict[str, pd.DataFrame]:
    return {"timeseries": pd.DataFrame({"t_s": [0, 900], "it_power_kw": [1.0, 2.0]})}


def _finished_run(tmp_path: Path) -> Path:
    return write_run_dir(tmp_path / "done", _tables(), {"pue": 1.1}, {"seed": 1})


@pytest.mark.parametrize("where", ["exists", "inside_run", "under_file"])
def test_write_run_dir_refuses_with_the_one_new_run_dir_check(tmp_path, where):
    """write_run_dir and `dctwin run -o` refuse a bad output folder by one check, so with one message."""
    if where == "exists":
        out = tmp_path / "taken"
        out.mkdir()
    elif where == "inside_run":
        out = _finished_run(tmp_path) / "nested"
    else:
        (tmp_path / "afile").write_text("x", encoding="utf-8")
        out = tmp_path / "afile" / "run"
    with pytest.raises(InputError) as direct:
        check_new_run_dir(out)
    with pytest.raises(InputError) as written:
        write_run_dir(out, _tables(), {}, {})
    assert str(written.value) == str(direct.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dctwin-partial-")]


SHORT = "extends: borlange-2027\nname: same-seed\nsimulation: {duration_days: 2, step_s: 3600, seed: 7}\n"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_of_one_seed_write_the_same_bytes_but_their_times(tmp_path, cli):
    """Same scenario, seed and run-folder name: every file of the run directory, report.html and manifest.json
    included, is byte-identical; the wall-clock times live only in timing.json, outside the manifest's hashes."""
    import json

    from dctwin.report.build import report_html
    from dctwin.report.data import load_run
    from dctwin.results import open_run, verify_run_dir

    (tmp_path / "s.yaml").write_text(SHORT, encoding="utf-8")
    runs = [tmp_path / "first" / "run", tmp_path / "second" / "run"]
    for out in runs:
        proc = cli("run", str(tmp_path / "s.yaml"), "-q", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
    a, b = (_files(r) for r in runs)
    assert sorted(a) == sorted(b) and {"report.html", "manifest.json", "timing.json"} <= set(a)
    assert [n for n in a if a[n] != b[n]] in ([], ["timing.json"])
    manifest = json.loads(a["manifest.json"])
    assert not {"started_utc", "finished_utc", "wall_time_s"} & set(manifest) and "timing.json" not in manifest["files"]
    timing = open_run(runs[0]).timing
    assert timing["wall_time_s"] > 0 and timing["started_utc"] <= timing["finished_utc"]
    assert verify_run_dir(runs[0]) == []
    again = report_html(load_run(runs[0]))  # the report of the same run dir, drawn again, is the file written
    assert again.encode("utf-8") == a["report.html"] == b["report.html"]


def test_web_lists_a_run_by_its_timing_file(tmp_path):
    """The dashboard's run list reads the times from timing.json, and from the manifest of a run written before."""
    from dctwin.web.runs import RunStore
    from run_fixture import make_run

    make_run(tmp_path, "timed", days=1)
    old = {"scenario_name": "old", "started_utc": "2026-01-02T03:04:05+00:00", "wall_time_s": 2.5}
    write_run_dir(tmp_path / "older", _tables(), {}, old)  # as dctwin wrote runs before timing.json
    store = RunStore(tmp_path)
    assert (store.summary("timed")["started_utc"], store.summary("timed")["wall_time_s"]) == (
        "2027-01-01T00:00:00+00:00", 1.0)
    assert (store.summary("older")["started_utc"], store.summary("older")["wall_time_s"]) == (old["started_utc"], 2.5)
    assert [r["name"] for r in store.list()] == ["timed", "older"]  # newest first


def test_sweep_report_figures_have_named_not_random_div_ids(tmp_path):
    """plotly's to_html gives each figure a random uuid div id unless told one: the same sweep, the same bytes."""
    from dctwin.sweep.report import write_sweep_report

    runs = pd.DataFrame({"run_id": ["a-0", "a-1", "b-0"], "point_id": ["a", "a", "b"], "pue": [1.1, 1.2, 1.3]})
    sens = pd.DataFrame({"kpi": ["pue"], "driver": ["x"], "low": [1.1], "high": [1.3], "at_low": [0], "at_high": [1]})
    pages = []
    for parent in ("one", "two"):
        folder = tmp_path / parent / "sweep"
        folder.mkdir(parents=True)
        pages.append(write_sweep_report(folder, runs, pd.DataFrame(), sens).read_bytes())
    assert pages[0] == pages[1]
    assert b'id="fig-pue-distribution"' in pages[0] and b'id="fig-pue-tornado"' in pages[0]


# ---------------------------------------------------------------- Ctrl-C
def _start(code: str, *args: str):
    import os
    import signal
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "COLUMNS": "200"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal has it


_INJECT = """
import sys
import dctwin.cli as cli
@cli.app.command("boom")
def boom() -> None:
    exec("raise KeyboardInterrupt")  # where dataclasses and namedtuple run code: the interpreter notes it unhandled
from dctwin.__main__ import main
main()
"""


def test_ctrl_c_inside_exec_code_exits_130_not_by_the_signal():
    """A KeyboardInterrupt raised inside exec()'d code (a dataclass being built while a module is imported mid-run:
    the 1-in-20 case) was caught and reported, yet CPython then killed the process with SIGINT at exit (-2)."""
    proc = _start(_INJECT, "boom")
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.strip()) == (130, "interrupted; nothing half-written was left behind")


_LOST = """
import time, weakref
import dctwin.cli as cli
class Thing:
    pass
@cli.app.command("lose")
def lose() -> None:
    thing = Thing()
    def callback(ref):
        raise KeyboardInterrupt  # Ctrl-C handled while Python runs a weakref callback (import locks have one)
    ref = weakref.ref(thing, callback)
    del thing
    for _ in range(300):
        time.sleep(0.01)
    print("went on to the end", flush=True)
from dctwin.__main__ import main
main()
"""


def test_ctrl_c_inside_a_weakref_callback_is_not_lost():
    """Python prints an exception raised in a weakref callback as "Exception ignored ... Traceback" and goes on:
    a run went on to its end after Ctrl-C. The command line raises it again where it can propagate."""
    proc = _start(_LOST, "lose")
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, out, err.strip()) == (130, "", "interrupted; nothing half-written was left behind")


_IMPORT_INTERRUPTED = """
import sys
class Interrupting:
    def find_spec(self, name, path=None, target=None):
        if name == "dctwin.cli":
            raise KeyboardInterrupt  # Ctrl-C while the command line's modules load
sys.meta_path.insert(0, Interrupting())
from dctwin.__main__ import main
main()
"""


def test_ctrl_c_while_the_command_line_loads_exits_130():
    proc = _start(_IMPORT_INTERRUPTED, "--help")
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.strip()) == (130, "interrupted; nothing half-written was left behind")


_READY_THEN_RUN = """
import dctwin.cli as cli
command_line = cli.main
def ready_then_run() -> None:  # the entry point imports cli.main inside its handler: "ready" is said from there
    print("ready", flush=True)
    command_line()
cli.main = ready_then_run
from dctwin.__main__ import main
main()
"""


@pytest.mark.parametrize("delay_s", [0.0, 0.005, 0.02, 0.06, 0.15, 0.4, 0.9])
def test_real_sigint_at_any_time_after_start_up_exits_130(tmp_path, delay_s):
    """A real SIGINT at several delays once the program's entry point runs (the interpreter's own start-up before
    it is the one window left, as for any program): always the message and exit 130, or a finished run."""
    import signal
    import time

    (tmp_path / "s.yaml").write_text(SHORT, encoding="utf-8")
    out = tmp_path / "runs" / "r"
    proc = _start(_READY_THEN_RUN, "run", str(tmp_path / "s.yaml"), "-q", "-o", str(out))
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert "Traceback" not in err, err
    if proc.returncode == 0:  # the run finished before the signal (a loaded machine): then it is complete
        assert (out / "manifest.json").is_file()
    else:
        assert (proc.returncode, err.strip()[-49:]) == (130, "interrupted; nothing half-written was left behind")
        assert not out.exists()
        assert not out.parent.exists() or list(out.parent.iterdir()) == []  # no staging folder left


# ---------------------------------------------------------------- accepted fields act or are refused
PROFILES = Path(__file__).resolve().parent.parent / "src" / "dctwin" / "workload" / "data" / "profiles"


@pytest.mark.parametrize("field", ["profile: seren", "diurnal_amplitude: 0.5", "peak_hour: 3", "weekend_factor: 0.3",
                                   "batch_share: 0.9"])
def test_dev_fields_a_workload_profile_replaces_are_refused(tmp_path, cli, field):
    """With dev.profile_path the profile's arrival cycle and kinds replace these: `scenario validate` said "valid"
    and the run ignored them."""
    (tmp_path / "s.yaml").write_text(
        "extends: borlange-2027\nname: p\nworkload:\n  training:\n    dev: {profile_path: "
        f"{PROFILES / 'alibaba-openb.profile.yaml'}, {field}}}\n", encoding="utf-8")
    proc = cli("scenario", "validate", str(tmp_path / "s.yaml"))
    name = field.split(":")[0]
    assert proc.returncode == 2 and f"replaces dev.{name}," in " ".join(proc.stderr.split()), proc.stderr


def test_tenants_with_a_workload_profile_are_refused():
    from dctwin.config.workload import DevJobsConfig, TrainingConfig

    path = PROFILES / "alibaba-openb.profile.yaml"
    TrainingConfig(dev=DevJobsConfig(profile_path=path))  # the defaults: accepted
    with pytest.raises(ValueError, match="replaces tenants"):
        TrainingConfig(dev=DevJobsConfig(profile_path=path), tenants=["a", "b"])


@pytest.mark.parametrize(("field", "fitted"), [("token_profile: code", False), ("peak_to_trough: 2.0", True),
                                               ("peak_to_trough: 2.0", False), ("weekend_factor: 0.5", True)])
def test_inference_fields_its_profile_replaces_are_refused(tmp_path, cli, field, fitted):
    """A service's profile replaces token_profile (it has token means) and the daily shape where it fitted one."""
    text = (PROFILES / "azure-conv.inference.yaml").read_text(encoding="utf-8")
    if fitted:
        text = text.replace("peak_to_trough: null", "peak_to_trough: 3.0")
    (tmp_path / "p.inference.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "extends: borlange-2027\nname: p\nworkload:\n  inference:\n    - {model: mistral-large-2, "
        f"peak_requests_per_s: 10, profile_path: p.inference.yaml, {field}}}\n", encoding="utf-8")
    proc = cli("scenario", "validate", str(tmp_path / "s.yaml"))
    name = field.split(":")[0]
    replaced = name == "token_profile" or (fitted and name == "peak_to_trough")
    if replaced:
        assert proc.returncode == 2 and f"fitted values replace {name}" in " ".join(proc.stderr.split())
    else:  # the profile has no fitted value for it: the scenario's field is used, and accepted
        assert proc.returncode == 0, proc.stderr


def test_dry_cooler_approach_is_the_design_or_refused(tmp_path, cli):
    """facility.cooling.dry_cooler_approach_k was accepted and read by no model (the dry coolers are sized by
    design_ambient_c at the liquid supply temperature): a value that is not that design's approach is refused."""
    scenario = "extends: borlange-2027\nname: p\nfacility: {cooling: {dry_cooler_approach_k: 5}}\n"
    (tmp_path / "s.yaml").write_text(scenario, encoding="utf-8")
    proc = cli("scenario", "validate", str(tmp_path / "s.yaml"))
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "dry_cooler_approach_k 5 K is not the design's approach" in text, text
    assert "design_ambient_c 35 °C with liquid_supply_temp_c 45 °C (10 K)" in text
    (tmp_path / "s.yaml").write_text(scenario.replace("dry_cooler_approach_k: 5", "dry_cooler_approach_k: 10, "
                                                  "liquid_supply_temp_c: 40"), encoding="utf-8")
    assert cli("scenario", "validate", str(tmp_path / "s.yaml")).returncode == 2  # 40 - 35 is 5 K, not 10
    (tmp_path / "s.yaml").write_text(scenario.replace("dry_cooler_approach_k: 5", "liquid_supply_temp_c: 40"),
                                     encoding="utf-8")
    assert cli("scenario", "validate", str(tmp_path / "s.yaml")).returncode == 0  # the approach follows the design


def test_calibrating_the_dry_cooler_approach_moves_the_design_ambient():
    """`dctwin calibrate`'s dry_cooler_approach parameter wrote the unused field: a fit that could not act."""
    from dctwin.config import load_scenario
    from dctwin.telemetry.calibrate import PARAMETERS, apply_parameters

    base = load_scenario()
    assert PARAMETERS["dry_cooler_approach"].read(base) == 10.0
    moved = apply_parameters(base, {"dry_cooler_approach": 14.0})
    assert moved.facility.cooling.design_ambient_c == 31.0 and PARAMETERS["dry_cooler_approach"].read(moved) == 14.0


def test_air_cooling_capacity_without_a_machine_is_refused(tmp_path, cli):
    """air_cooling 'economiser_only' runs no chiller or DX unit: a capacity set for them was accepted and unused."""
    (tmp_path / "s.yaml").write_text("extends: borlange-2027\nname: p\nfacility: {cooling: {air_cooling: "
                                     "economiser_only, air_cooling_capacity_mw: 5}}\n", encoding="utf-8")
    proc = cli("scenario", "validate", str(tmp_path / "s.yaml"))
    assert proc.returncode == 2 and "air_cooling_capacity_mw 5 MW is not used" in " ".join(proc.stderr.split())
    (tmp_path / "s.yaml").write_text("extends: borlange-2027\nname: p\nfacility: {cooling: {air_cooling: "
                                     "economiser_only, air_cooling_capacity_mw: 0}}\n", encoding="utf-8")
    assert cli("scenario", "validate", str(tmp_path / "s.yaml")).returncode == 0  # none: what it has


def test_a_calibrated_approach_is_written_as_the_design_ambient(tmp_path):
    """The calibrated scenario file holds the fitted approach as design_ambient_c (supply minus approach) and loads."""
    from dctwin.config import load_scenario
    from dctwin.telemetry.calibrate import CalibrationResult, apply_parameters
    from dctwin.telemetry.service import write_calibrated_scenario

    table = pd.DataFrame({"name": ["dry_cooler_approach", "heat_pump_carnot_fraction"], "fitted": [14.0, 0.45],
                          "std": [0.5, 0.01], "unit": ["K", "-"], "label": ["approach", "carnot"],
                          "identifiable": [True, True]})
    fitted_values = {"dry_cooler_approach": 14.0, "heat_pump_carnot_fraction": 0.45}
    result = CalibrationResult(table=table, scenario=apply_parameters(load_scenario(), fitted_values), cost_initial=1.0,
                               cost_final=0.5, n_evaluations=3, targets=("pue",))  # its scenario holds the fit
    out = write_calibrated_scenario(tmp_path / "cal.yaml", "borlange-2027", result)
    fitted = load_scenario(out)
    assert fitted.facility.cooling.design_ambient_c == 31.0 and fitted.facility.heat_reuse.carnot_fraction == 0.45
    assert fitted.facility.cooling.liquid_supply_temp_c == 45.0


def test_two_replays_of_one_telemetry_write_the_same_bytes_but_their_time(tmp_path):
    """A replay's manifest and report carried the time it was written: now only its timing.json does."""
    from dctwin.config import load_scenario
    from dctwin.telemetry import read_telemetry
    from dctwin.telemetry.service import replay_telemetry, write_replay_dir
    from dctwin.telemetry.synth import EXAMPLE_TRUTH, example_mapping, synthetic_telemetry
    from dctwin.web.runs import RunStore

    sc = load_scenario()
    wide, _ = synthetic_telemetry(sc, "2027-01-04T00:00:00Z", 2, 300, EXAMPLE_TRUTH, seed=11)
    (tmp_path / "t.csv").write_text(wide.to_csv(index=False), encoding="utf-8")
    (tmp_path / "map.yaml").write_text(example_mapping(300), encoding="utf-8")
    tel = read_telemetry([tmp_path / "t.csv"], tmp_path / "map.yaml")
    result = replay_telemetry(sc, tel)
    dirs = [write_replay_dir(tmp_path / parent / "rep", sc, tel, result) for parent in ("one", "two")]
    a, b = (_files(d) for d in dirs)
    assert sorted(a) == sorted(b) and [n for n in a if a[n] != b[n]] in ([], ["timing.json"])
    assert b"started_utc" not in a["manifest.json"] and b"written 20" not in a["report.html"]  # not the same second
    assert RunStore(tmp_path / "one").summary("rep")["started_utc"].startswith("20")  # the dashboard's "written"
