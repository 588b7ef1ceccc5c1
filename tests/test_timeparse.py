"""One timestamp parser (dctwin.timeparse) with one set of rules for site series, telemetry and traces:
a UTC offset is converted exactly, a naive time follows the reader's documented clock, anything else is
refused with the file, the row, the value and what is allowed (exit code 2 from the CLI)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.site.readers import read_heat_demand_csv, read_weather_csv
from dctwin.telemetry.readers import parse_times
from dctwin.timeparse import parse_timestamps, standard_offset_s
from dctwin.workload.formats import read_trace


def _where(i: int) -> str:
    return f"line {i + 2}, timestamp"


def _weather(tmp_path, stamps):
    p = tmp_path / "w.csv"
    p.write_text("timestamp,dry_bulb_c,rel_humidity_pct\n" + "".join(f"{s},{k},80\n" for k, s in enumerate(stamps)))
    return p


def test_an_offset_is_converted_to_utc_exactly():
    got = parse_timestamps(pd.Series(["2025-01-01T01:00+01:00", "2025-01-01T03:30+0230", "2025-01-01T01:00Z"]),
                           file="f", where=_where, naive=None)
    assert list(got.strftime("%Y-%m-%d %H:%M")) == ["2025-01-01 00:00", "2025-01-01 01:00", "2025-01-01 01:00"]


def test_naive_times_follow_the_readers_clock():
    text = pd.Series(["2025-07-01 12:00", "2025-07-01"])
    utc = parse_timestamps(text, file="f", where=_where, naive=0.0)
    assert list(utc.strftime("%H:%M")) == ["12:00", "00:00"]
    east = parse_timestamps(text, file="f", where=_where, naive=3600.0)
    assert (utc - east).tolist() == [pd.Timedelta(hours=1)] * 2
    zoned = parse_timestamps(text, file="f", where=_where, naive="Europe/Stockholm")  # summer: +02:00
    assert list(zoned.strftime("%H:%M")) == ["10:00", "22:00"]


@pytest.mark.parametrize(("stamps", "naive", "match"), [
    (["2025-01-01 00:00", "2025-01-01T01:00Z"], 0.0, "line 3, timestamp.*mixes timestamps with and without"),
    (["2025-01-01 00:00", "01/02/2025 01:00"], 0.0, r"line 3, timestamp.*not an ISO 8601.*01/02/2025 01:00.*allowed"),
    (["2025-02-30 00:00"], 0.0, "line 2, timestamp.*not a valid date and time.*2025-02-30"),
    (["2025-03-30 02:30"], "Europe/Stockholm", "line 2.*does not exist or is ambiguous"),
    (["2025-10-26 02:30"], "Europe/Stockholm", "line 2.*does not exist or is ambiguous"),
    (["2025-01-01 00:00"], None, "line 2.*no UTC offset"),
])
def test_unreadable_or_ambiguous_times_are_refused_with_row_and_value(stamps, naive, match):
    with pytest.raises(InputError, match=match) as exc:
        parse_timestamps(pd.Series(stamps), file="in.csv", where=_where, naive=naive)
    assert str(exc.value).startswith("in.csv")


def test_site_series_with_offsets_land_in_local_standard_time(tmp_path):
    assert standard_offset_s("Europe/Stockholm") == 3600
    naive = read_weather_csv(_weather(tmp_path, [f"2027-07-01 {h:02d}:00" for h in range(4)]), "Europe/Stockholm")
    z = read_weather_csv(_weather(tmp_path, [f"2027-06-30T{h + 23:02d}:00Z" if h == 0 else
                                             f"2027-07-01T{h - 1:02d}:00Z" for h in range(4)]), "Europe/Stockholm")
    plus2 = read_weather_csv(_weather(tmp_path, [f"2027-07-01T{h + 1:02d}:00+02:00" for h in range(4)]),
                             "Europe/Stockholm")
    for df in (z, plus2):
        assert (df["timestamp"].to_numpy() == naive["timestamp"].to_numpy()).all()


def test_a_site_file_with_offsets_needs_the_sites_zone(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("timestamp,heat_demand_mw\n2027-01-01T00:00Z,1\n2027-01-01T01:00Z,1\n")
    with pytest.raises(InputError, match="UTC offset"):
        read_heat_demand_csv(p)
    assert read_heat_demand_csv(p, "Europe/Stockholm")["timestamp"].iloc[0] == pd.Timestamp("2027-01-01 01:00")


def test_telemetry_and_traces_share_the_rules(tmp_path):
    t = parse_times(pd.Series(["2026-01-31T13:45:00+01:00"]), "t.csv", None, None, 2)
    assert t[0] == pd.Timestamp("2026-01-31 12:45", tz="UTC").timestamp()
    rows = ("job_id,user,gpu_num,state,submit_time,start_time,end_time\n"
            "1,u,8,COMPLETED,{},2020-04-06 09:00:10,2020-04-06 10:00:10\n"
            "2,u,8,COMPLETED,2020-04-06 09:30:00,2020-04-06 09:31:00,2020-04-06 09:32:00\n")
    naive, zoned = tmp_path / "a" / "cluster_log.csv", tmp_path / "b" / "cluster_log.csv"
    for p, first in ((naive, "2020-04-06 09:00:00"), (zoned, "2020-04-06 10:00:00+01:00")):
        p.parent.mkdir()
        p.write_text(rows.format(first))
    with pytest.raises(InputError, match="mixes timestamps"):
        read_trace(zoned)
    p = tmp_path / "c" / "cluster_log.csv"  # the same jobs, every time one hour east of UTC
    p.parent.mkdir()
    p.write_text("job_id,user,gpu_num,state,submit_time,start_time,end_time\n"
                 "1,u,8,COMPLETED,2020-04-06T10:00+01:00,2020-04-06 10:00:10+01:00,2020-04-06 11:00:10+01:00\n"
                 "2,u,8,COMPLETED,2020-04-06T10:30+01:00,2020-04-06 10:31:00+01:00,2020-04-06 10:32:00+01:00\n")
    a, b = read_trace(naive), read_trace(p)
    assert np.array_equal(a.jobs["submit_s"].to_numpy(), b.jobs["submit_s"].to_numpy())
    assert a.t0 == b.t0


def test_the_cli_refuses_a_bad_timestamp_with_exit_code_2(tmp_path):
    p = tmp_path / "cluster_log.csv"
    p.write_text("job_id,user,gpu_num,state,submit_time,duration\n1,u,8,COMPLETED,2020-04-06 9h,60\n"
                 "2,u,8,COMPLETED,2020-04-06 10:00,60\n")
    r = subprocess.run([sys.executable, "-m", "dctwin", "workload", "fit", str(p), "--out", str(tmp_path / "o.yaml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "line 2, submit_time" in r.stderr and "2020-04-06 9h" in r.stderr and "ISO 8601" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("stamp", ["0001-01-01", "9999-12-31 23:59", "1677-09-21 00:00"])
def test_years_a_clock_cannot_hold_are_refused(stamp):
    with pytest.raises(InputError, match=f"line 2, timestamp.*year outside 1900-2200.*{stamp}"):
        parse_timestamps(pd.Series([stamp]), file="f", where=_where, naive=0.0)


def test_grid_downloads_labelled_utc_follow_the_same_rules(tmp_path):
    from dctwin.site.market_readers import read_carbon_file

    head = "Datetime (UTC),Zone id,Carbon intensity gCO₂eq/kWh (Life cycle)\n"
    naive, zoned = tmp_path / "a.csv", tmp_path / "b.csv"
    naive.write_text(head + "".join(f"2023-06-01 {h:02d}:00:00,DE,{300 + h}\n" for h in range(5)))
    zoned.write_text(head + "".join(f"2023-06-01T{h + 2:02d}:00+02:00,DE,{300 + h}\n" for h in range(5)))
    a, b = (read_carbon_file(p, "electricitymaps", "Europe/Berlin") for p in (naive, zoned))
    assert a.equals(b) and a.timestamp.iloc[0] == pd.Timestamp("2023-06-01 01:00")  # CET = UTC + 1
    zoned.write_text(head + "2023-06-01T00:00Z,DE,1\n2023-06-01 01:00,DE,1\n")
    with pytest.raises(InputError, match="line 3, time.*mixes timestamps"):
        read_carbon_file(zoned, "electricitymaps", "Europe/Berlin")
