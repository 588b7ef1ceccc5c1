"""Hardening leftovers (issue #21's standard): a staged output folder killed outright is cleaned by the next
command, and weather written in daylight-saving time is refused where it can be told exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.results.run_dir import STAGING_PREFIX
from dctwin.site.readers import read_epw, read_weather_csv

_WRITER = textwrap.dedent("""
    import sys, time
    from dctwin.safeout import staged_folder
    with staged_folder(sys.argv[1]) as stage:
        (stage / "design.yaml").write_text("half", encoding="utf-8")
        print("staged", flush=True)
        time.sleep(600)
""")


def _killed_writer(out) -> int:
    """A real process writing ``out`` through staged_folder, killed with SIGKILL mid-write; its pid."""
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ})
    try:
        assert proc.stdout.readline().strip() == "staged"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return proc.pid


def test_sigkilled_staged_folder_is_removed_by_the_next_command(tmp_path, capsys):
    from dctwin.safeout import staged_folder

    pid = _killed_writer(tmp_path / "plan")
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert left == [f"{STAGING_PREFIX}plan-{pid}"], left  # SIGKILL skips every finally: the stage stays
    capsys.readouterr()
    with staged_folder(tmp_path / "plan2") as stage:
        (stage / "a.txt").write_text("x", encoding="utf-8")
    err = capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan", "plan2"]  # 'plan': the empty folder it checked
    assert len(err.strip().splitlines()) == 1 and f"{STAGING_PREFIX}plan-{pid}" in err and "killed" in err, err


def test_a_live_writers_stage_is_left_alone(tmp_path, capsys):
    from dctwin.safeout import staged_folder

    live = tmp_path / f"{STAGING_PREFIX}other-{os.getpid()}"  # this process is alive
    live.mkdir()
    with staged_folder(tmp_path / "out"):
        pass
    assert live.is_dir() and capsys.readouterr().err == ""


def test_a_run_into_the_same_folder_clears_a_killed_plans_stage(tmp_path, capsys):
    """One mechanism: the run's staging (results.run_dir) removes a killed staged_folder's leftovers too."""
    import pandas as pd

    from dctwin.results.run_dir import write_run_dir

    pid = _killed_writer(tmp_path / "plan")
    capsys.readouterr()
    write_run_dir(tmp_path / "r", {"t": pd.DataFrame({"a": [1.0]})}, {}, {"name": "r"})
    assert f"{STAGING_PREFIX}plan-{pid}" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- weather on the daylight-saving clock
TZ = "Europe/Stockholm"  # borlange-2027's site; clocks 02:00 -> 03:00 on 2027-03-28, 03:00 -> 02:00 on 2027-10-31


def _csv(tmp_path, stamps, name="w.csv") -> Path:
    rows = [f"{s},{5 + np.sin(i / 5):.2f},80.0" for i, s in enumerate(stamps)]
    p = tmp_path / name
    p.write_text("timestamp,dry_bulb_c,rel_humidity_pct\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def _wall_clock(first: str, last: str) -> list[str]:
    """Hourly stamps as a logger on Stockholm's wall clock writes them (summer time included), naive."""
    utc = pd.date_range(pd.Timestamp(first, tz=TZ), pd.Timestamp(last, tz=TZ), freq="h")
    return list(utc.tz_convert(TZ).strftime("%Y-%m-%d %H:%M"))


@pytest.mark.parametrize("first, last, line_value", [
    ("2027-03-27 00:00", "2027-03-29 00:00", "2027-03-28 03:00"),   # a 23-hour day: 02:00 never written
    ("2027-10-30 00:00", "2027-11-01 00:00", "2027-10-31 02:00"),   # a 25-hour day: 02:00 written twice
])
def test_a_summer_time_file_is_refused_where_it_shows(tmp_path, first, last, line_value):
    stamps = _wall_clock(first, last)
    with pytest.raises(InputError) as err:
        read_weather_csv(_csv(tmp_path, stamps), TZ)
    text = str(err.value)
    i = [k for k, s in enumerate(stamps) if s == line_value][-1]
    assert "daylight-saving" in text and TZ in text and f"line {i + 2}, timestamp" in text, text
    assert line_value in text and "local standard time" in text


def test_the_same_days_in_standard_time_or_with_offsets_read_exactly(tmp_path):
    """No false alarm: standard time across both changes, a real 2-h gap on another day, and explicit offsets
    that change within the file (converted exactly: 12:00+02:00 in summer is 11:00 standard time)."""
    std = list(pd.date_range("2027-03-27", "2027-11-01", freq="h").strftime("%Y-%m-%d %H:%M"))
    assert len(read_weather_csv(_csv(tmp_path, std), TZ)) == len(std)
    gap = [s for s in std if s != "2027-04-10 02:00"]
    assert len(read_weather_csv(_csv(tmp_path, gap, "g.csv"), TZ)) == len(gap)
    utc = pd.date_range("2027-03-27", "2027-04-02", freq="h", tz="UTC")
    zoned = list(utc.tz_convert(TZ).strftime("%Y-%m-%dT%H:%M%z"))
    assert len({z[-5:] for z in zoned}) == 2
    df = read_weather_csv(_csv(tmp_path, zoned, "z.csv"), TZ)
    assert (df["timestamp"] == pd.DatetimeIndex(utc.tz_convert(None) + pd.Timedelta(hours=1))).all()


def test_scenario_validate_refuses_a_summer_time_weather_file_with_exit_2(tmp_path, cli):
    (tmp_path / "w.csv").write_text(_csv(tmp_path, _wall_clock("2027-03-27 00:00", "2027-03-30 00:00"))
                                    .read_text(encoding="utf-8"), encoding="utf-8")
    sc = tmp_path / "s.yaml"
    sc.write_text("extends: borlange-2027\nname: p\nsimulation: {start: 2027-03-27, duration_days: 2, "
                  "step_s: 3600}\nsite: {climate: {source: csv, path: w.csv}}\n", encoding="utf-8")
    proc = cli("scenario", "validate", str(sc))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "daylight-saving" in " ".join(proc.stderr.split())


def test_an_epw_day_must_hold_hours_1_to_24_in_turn(tmp_path):
    """A 23- and a 25-hour day (a daylight-saving EPW) kept 8,760 rows and were averaged into the typical year."""
    src = Path(__file__).parents[1] / "src/dctwin/site/data/weather/SWE_Stockholm.Arlanda.024600_IWEC.epw"
    lines = src.read_text(encoding="utf-8").splitlines()
    assert len(read_epw(src)) == 8760
    k = 8 + 86 * 24 + 2  # line of 28 March, hour 3: written as a second hour 2
    fields = lines[k].split(",")
    fields[3] = "2"
    lines[k] = ",".join(fields)
    bad = tmp_path / "dst.epw"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_epw(bad)
    assert f"line {k + 1}, hour" in str(err.value) and "standard time" in str(err.value), str(err.value)
