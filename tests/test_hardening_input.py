"""Input that was read silently wrong, read whole, or echoed: each is now refused with a clear message."""

from __future__ import annotations

import os
import re
import textwrap
import time

import pytest

from dctwin.config import load_scenario
from dctwin.errors import InputError, ScenarioError
from dctwin.site import read_weather_csv

HEAD = "extends: borlange-2027\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"


def _scenario(tmp_path, body: str, name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return p


def _weather(tmp_path, rows: list[str]):
    p = tmp_path / "w.csv"
    p.write_text("timestamp,dry_bulb_c,rel_humidity_pct\n" + "\n".join(rows) + "\n")
    return p


def test_climate_path_without_source_is_refused(tmp_path):
    w = _weather(tmp_path, [f"2027-01-01 {h:02d}:00,{h - 5},80" for h in range(24)])
    with pytest.raises(ScenarioError, match="climate.source"):
        load_scenario(_scenario(tmp_path, f"site: {{climate: {{path: {w}}}}}\n"))


@pytest.mark.parametrize("suffix", ["Z", "+01:00"])
def test_utc_timestamps_are_not_read_as_local_time(tmp_path, suffix):
    w = _weather(tmp_path, [f"2027-01-01T{h:02d}:00:00{suffix},{h - 5},80" for h in range(24)])
    with pytest.raises(InputError, match="UTC offset"):
        read_weather_csv(w)


def test_a_month_long_gap_is_refused_not_interpolated(tmp_path):
    rows = [f"2027-01-{d:02d} {h:02d}:00,1,80" for d in (1, 2) for h in range(24)]
    rows += [f"2027-02-{d:02d} {h:02d}:00,1,80" for d in (3, 4) for h in range(24)]
    with pytest.raises(InputError, match="gap of 745 h"):
        read_weather_csv(_weather(tmp_path, rows))


def test_duplicate_yaml_keys_are_refused(tmp_path):
    twice = "facility: {cooling: {liquid_supply_temp_c: 40}}\n"
    p = _scenario(tmp_path, twice + twice.replace("40", "45"))
    with pytest.raises(ScenarioError, match="duplicate key 'facility'"):
        load_scenario(p)


@pytest.mark.parametrize("body,field", [
    ("scheduler: {policy: nope}\n", "scheduler.policy"),
    ("scheduler: {placement: nope}\n", "scheduler.placement"),
    ("workload: {training: {pretrain: {model: nope}}}\n", "workload.training.pretrain.model"),
    ("scheduler: {failures: {rates: nope}}\n", "scheduler.failures.rates"),
    ("workload: {inference: [{model: nope, peak_requests_per_s: 10}]}\n", "workload.inference[0].model"),
])
def test_validate_refuses_what_run_refuses(tmp_path, cli, body, field):
    proc = cli("scenario", "validate", str(_scenario(tmp_path, body)))
    assert proc.returncode == 2 and field in proc.stderr and "valid scenario" not in proc.stdout


@pytest.mark.parametrize("body,field", [
    ("economics: {capex: {rack_price_usd: {vr-nvl72: -1}}}\n", "rack_price_usd"),
    ("economics: {energy_tax_eur_per_mwh: 1.0e+308}\n", "energy_tax_eur_per_mwh"),
    ("facility: {power_chain: {block_size_mw: 5.0e-324}}\n", "block_size_mw"),
    ("workload: {training: {pretrain: {tokens_t: 5.0e-324}}}\n", "tokens_t"),
    ("workload: {training: {pretrain: {tokens_t: 1.0e-8}}}\n", "tokens_t"),
])
def test_absurd_numbers_are_refused_up_front(tmp_path, body, field):
    with pytest.raises(ScenarioError, match=field):
        load_scenario(_scenario(tmp_path, body))


def _sparse(path, size=2 << 30):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_extends_a_huge_sparse_file_is_refused_before_reading(tmp_path):
    import resource

    big = _sparse(tmp_path / "big.yaml")
    p = tmp_path / "s.yaml"
    p.write_text(f"extends: {big}\nname: x\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(p)
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000   # [KiB]: nothing read


def test_jobs_path_to_a_huge_file_is_refused_cleanly(tmp_path, cli):
    big = _sparse(tmp_path / "jobs.csv", 3 << 30)
    proc = cli("scenario", "validate", str(_scenario(tmp_path, f"workload: {{jobs_path: {big}}}\n")))
    assert proc.returncode == 2 and "larger than" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("target", ["/proc/kmsg", "/proc/self/environ", "FIFO"])
def test_pseudo_files_and_fifos_are_refused_without_hanging(tmp_path, cli, target):
    if target == "FIFO":
        target = str(tmp_path / "fifo")
        os.mkfifo(target)
    p = _scenario(tmp_path, f"site: {{climate: {{source: csv, path: {target}}}}}\n")
    t0 = time.perf_counter()
    proc = cli("run", str(p), "--out", str(tmp_path / "r"), "--quiet", "--no-report", timeout=120)
    assert time.perf_counter() - t0 < 60
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a regular file" in proc.stderr or "pseudo-file" in proc.stderr
    p2 = tmp_path / "ext.yaml"
    p2.write_text(f"extends: {target}\nname: x\n")
    proc = cli("scenario", "validate", str(p2), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_errors_never_quote_lines_of_the_file(tmp_path, cli):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRETHASH$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    for body in (f"site: {{climate: {{source: csv, path: {secret}}}}}\n",
                 f"site: {{grid: {{source: csv, path: {secret}}}}}\n",
                 f"site: {{climate: {{source: epw, path: {secret}}}}}\n"):
        proc = cli("run", str(_scenario(tmp_path, body)), "--out", str(tmp_path / "r"), "--quiet", "--no-report")
        assert proc.returncode == 2, proc.stderr
        assert "SECRETHASH" not in proc.stderr + proc.stdout and "daemon" not in proc.stderr, proc.stderr
    p = tmp_path / "ext.yaml"
    p.write_text(f"extends: {secret}\nname: x\n")
    proc = cli("scenario", "validate", str(p))
    assert proc.returncode == 2 and "SECRETHASH" not in proc.stderr


@pytest.mark.parametrize("start", ["2027-13-01", "2027-02-29", "2027-02-30"])
def test_a_date_the_calendar_lacks_is_a_clear_error(tmp_path, start):
    p = tmp_path / "s.yaml"
    p.write_text(f"extends: borlange-2027\nname: p\nsimulation: {{start: {start}, duration_days: 1}}\n")
    with pytest.raises(ScenarioError, match=f"line 3, column 21: '{start}' is not a valid date"):
        load_scenario(p)


@pytest.mark.parametrize(("body", "field"), [
    ("simulation: {start: 2027-01-01T00:00:00+05:00}", "simulation.start"),   # the offset would be dropped
    ("simulation: {start: '2027-01-01T00:00:00'}", "simulation.start"),
    ("simulation: {start: 1798761600}", "simulation.start"),                  # a Unix timestamp, not a date
    ("phases: [{name: a, start: 2027-01-01 00:00:00, racks: [{platform: vr-nvl72, count: 1}], "
     "power_envelope_mw: 5}]", "phases[0].start"),
])
def test_a_date_field_takes_a_calendar_date_only(tmp_path, body, field):
    p = tmp_path / "s.yaml"
    p.write_text(f"extends: borlange-2027\nname: p\n{body}\n")
    with pytest.raises(ScenarioError, match=rf"{re.escape(field)}.*calendar date written YYYY-MM-DD"):
        load_scenario(p)


@pytest.mark.parametrize("written", ["0600", "-0600", "15:00", "1:30.5"])
def test_octal_and_base_60_numbers_are_refused_not_converted(tmp_path, written):
    # YAML 1.1 reads 0600 as 384 and 15:00 as 900: a value that cannot be read exactly is refused
    p = tmp_path / "s.yaml"
    p.write_text(f"extends: borlange-2027\nname: p\nsite: {{elevation_m: {written}}}\n")
    with pytest.raises(ScenarioError, match=f"ambiguous number '{written}'"):
        load_scenario(p)


@pytest.mark.parametrize("body,field", [
    ("scheduler: {backfill_depth: true}\n", "scheduler.backfill_depth"),
    ("site: {grid_connection_mw: true}\n", "site.grid_connection_mw"),
])
def test_a_bool_is_not_a_number(tmp_path, body, field):
    with pytest.raises(ScenarioError, match=rf"{field}': expected a number, not true"):
        load_scenario(_scenario(tmp_path, body))


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "x" * 5000])
def test_an_unknown_site_time_zone_is_refused(tmp_path, zone):
    with pytest.raises(ScenarioError, match="site.timezone': unknown time zone"):
        load_scenario(_scenario(tmp_path, f"site: {{timezone: '{zone}'}}\n"))


@pytest.mark.parametrize("body,problem", [
    ("phases: [{name: a, start: 2027-01-01, racks: [{platform: vr-nvl72, count: 0}], power_envelope_mw: 23}]\n",
     "no racks are online"),
    ("phases: [{name: a, start: 2030-01-01, racks: [{platform: vr-nvl72, count: 3}], power_envelope_mw: 23}]\n",
     "no racks are online"),
    ("simulation: {duration_days: 1.0e-9}\n", "shorter than one step"),
    ("simulation: {start: 0001-01-01}\n", "start year 1 is outside 1900-2200"),
    ("simulation: {start: 9999-12-31}\n", "start year 9999 is outside 1900-2200"),
])
def test_validate_refuses_a_span_run_cannot_simulate(tmp_path, cli, body, problem):
    # `run` refused these (or crashed, year 9999) while `scenario validate` said "valid"
    p = tmp_path / "s.yaml"
    p.write_text("extends: borlange-2027\nname: p\n" + body, encoding="utf-8")
    proc = cli("scenario", "validate", str(p))
    assert proc.returncode == 2 and problem in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("engine,placement,problem", [("numba", "topology", "unknown engine path"),
                                                      ("compiled", "first_fit", "topology placement only")])
def test_validate_refuses_an_engine_path_the_run_refuses(tmp_path, cli, engine, placement, problem):
    # `scenario validate` said valid and `run` then refused DCTWIN_ENGINE (exit 2 only after the checks)
    import subprocess
    import sys

    path = _scenario(tmp_path, f"scheduler: {{placement: {placement}}}\n")
    env = {**os.environ, "DCTWIN_ENGINE": engine}
    r = subprocess.run([sys.executable, "-m", "dctwin", "scenario", "validate", str(path)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 2 and "DCTWIN_ENGINE" in r.stderr and problem in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
