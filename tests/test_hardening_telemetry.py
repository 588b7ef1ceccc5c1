"""Hostile telemetry: each refused with file, field and value (exit 2), or run without a crash.

Before: two different values at one timestamp crashed with IndexError while building the message; numeric
timestamps of Prometheus text and range JSON were not range-checked (1e300 s: ValueError, -1e12 s: a 25 GiB
allocation, NaN: ValueError, a 20-digit ms stamp: OutOfBoundsDatetime); the step-count cap ran after the grid was
allocated; a range JSON whose IT power is all NaN (stale markers) replayed nothing and exited 0; a replay of one
sample crashed writing kpis.json (NaN CV(RMSE)).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dctwin.errors import InputError
from dctwin.telemetry import read_telemetry

T0 = 1_814_400_000  # 2027-07-01 UTC [s]
MAP = "step_s: 300\nmax_gap_s: 900\nseries:\n  it_power_kw: {source: it_kw, unit: kW}\n"


def _files(tmp_path, name: str, text: str, mapping: str = MAP):
    (tmp_path / "map.yaml").write_text(mapping, encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / name, tmp_path / "map.yaml"


def _range_json(values) -> str:
    return json.dumps({"status": "success", "data": {"resultType": "matrix",
                                                     "result": [{"metric": {"__name__": "it_kw"}, "values": values}]}})


def test_two_values_at_one_timestamp_are_named_not_a_crash(tmp_path):
    rows = "".join(f"{T0 + 300 * i},{1000 + i}\n" for i in range(6)) + f"{T0 + 300},{5}\n"
    f, m = _files(tmp_path, "t.csv", "time,it_kw\n" + rows, MAP + "epoch_unit: s\n")
    with pytest.raises(InputError, match="two different values at the same timestamp") as e:
        read_telemetry([f], m)
    assert "1001 vs 5" in str(e.value) and "rows 3 and 8" in e.value.field


@pytest.mark.parametrize("stamp", [1e300, -1e12, True, 5e9])
def test_range_json_timestamps_outside_1970_2100_are_refused(tmp_path, stamp):
    f, m = _files(tmp_path, "t.json", _range_json([[stamp, "1"]] + [[T0 + 300 * i, "1"] for i in range(1, 5)]))
    with pytest.raises(InputError) as e:
        read_telemetry([f], m)
    assert e.value.field == "data.result[0].values[0]" and e.value.file == str(f)


def test_a_nan_range_json_timestamp_is_refused(tmp_path):
    text = '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"it_kw"},' \
           '"values":[[NaN,"1"]]}]}}'
    f, m = _files(tmp_path, "t.json", text)
    with pytest.raises(InputError, match="timestamp outside 1970-2100"):
        read_telemetry([f], m)


@pytest.mark.parametrize("stamp", ["99999999999999999999", "1" + "0" * 5000, "-5"])
def test_exposition_timestamps_outside_1970_2100_are_refused(tmp_path, stamp):
    f, m = _files(tmp_path, "t.prom", f"it_kw 1000 {T0 * 1000}\nit_kw 1000 {stamp}\n")
    with pytest.raises(InputError, match="timestamp outside 1970-2100") as e:
        read_telemetry([f], m)
    assert e.value.field == "line 2"


def test_a_span_of_too_many_steps_is_refused_before_the_grid_is_built(tmp_path):
    f, m = _files(tmp_path, "t.json", _range_json([[0, "1"], [4.0e9, "1"]]), MAP.replace("step_s: 300", "step_s: 1"))
    with pytest.raises(InputError, match="spans too many steps") as e:
        read_telemetry([f], m)
    assert "4,000,000,001" in e.value.allowed


def test_an_it_power_series_of_stale_markers_only_is_refused(tmp_path):
    f, m = _files(tmp_path, "t.json", _range_json([[T0 + 300 * i, "NaN"] for i in range(24)]))
    with pytest.raises(InputError, match="the IT power series has no value") as e:
        read_telemetry([f], m)
    assert e.value.file == str(f)


def test_a_replay_of_one_sample_writes_null_fit_figures(tmp_path):
    f, m = _files(tmp_path, "t.csv", f"time,it_kw,grid_kw\n{T0},15000,16500\n",
                  MAP + "  grid_power_kw: {source: grid_kw, unit: kW}\nepoch_unit: s\n")
    r = subprocess.run([sys.executable, "-m", "dctwin", "replay", "borlange-2027", str(f), "-m", str(m), "-o",
                        str(tmp_path / "r")], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    kpis = json.loads((tmp_path / "r" / "kpis.json").read_text())
    assert kpis["steps"] == 1 and kpis["measured_steps"] == 1
    assert kpis["grid_power_kw_hourly_cv_rmse_pct"] is None and kpis["grid_power_kw_hourly_nmbe_pct"] is None
