"""Telemetry readers and alignment: exact timestamps, every repair reported, broken files refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dctwin.errors import InputError
from dctwin.telemetry import read_telemetry
from dctwin.telemetry.mapping import TelemetryMap

IT = {"source": "it", "unit": "kW"}


def _map(**kw) -> TelemetryMap:
    series = kw.pop("series", {"it_power_kw": IT})
    return TelemetryMap.model_validate({"step_s": 60, "series": series, **kw})


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_wide_csv_with_utc_offsets_lands_on_the_grid(tmp_path):
    p = _csv(tmp_path, "time,it,oat\n2027-01-01T00:00:00Z,100,5\n2027-01-01T01:01:00+01:00,200,6\n")
    tel = read_telemetry([p], _map(series={"it_power_kw": IT, "dry_bulb_c": {"source": "oat", "unit": "degF"}}))
    assert tel.frame["it_power_kw"].tolist() == [100.0, 200.0]  # +01:00 is 00:01 UTC, the next step
    assert tel.frame["dry_bulb_c"].round(3).tolist() == [-15.0, -14.444]
    assert str(tel.frame["time"].iloc[1]) == "2027-01-01 00:01:00+00:00"
    assert tel.sources[0]["sha256"] and tel.quality.empty


def test_naive_times_need_a_zone_and_dst_gaps_are_refused(tmp_path):
    p = _csv(tmp_path, "time,it\n2027-03-28 01:59:00,1\n2027-03-28 02:30:00,1\n")
    with pytest.raises(InputError, match="no UTC offset"):
        read_telemetry([p], _map())
    with pytest.raises(InputError, match=r"row 3.*daylight-saving"):
        read_telemetry([p], _map(naive_timezone="Europe/Stockholm"))
    ok = read_telemetry([p], _map(naive_timezone="UTC"))
    assert len(ok.frame) == 32


def test_numeric_epochs_need_their_unit(tmp_path):
    p = _csv(tmp_path, "timestamp,it\n1798761600,5\n1798761660,6\n")
    with pytest.raises(InputError, match="epoch_unit"):
        read_telemetry([p], _map())
    tel = read_telemetry([p], _map(epoch_unit="s"))
    assert str(tel.frame["time"].iloc[0]) == "2027-01-01 00:00:00+00:00"


def test_unsorted_and_identical_duplicates_are_repaired_and_reported(tmp_path):
    p = _csv(tmp_path, "time,it\n2027-01-01T00:02:00Z,3\n2027-01-01T00:00:00Z,1\n2027-01-01T00:01:00Z,2\n"
                       "2027-01-01T00:01:00Z,2\n")
    tel = read_telemetry([p], _map())
    assert tel.frame["it_power_kw"].tolist() == [1.0, 2.0, 3.0]
    issues = dict(zip(tel.quality["issue"], tel.quality["count"], strict=True))
    assert issues == {"out_of_order": 1, "duplicate": 1}


def test_conflicting_duplicates_are_refused_with_both_rows(tmp_path):
    p = _csv(tmp_path, "time,it\n2027-01-01T00:00:00Z,1\n2027-01-01T00:00:00Z,9\n")
    with pytest.raises(InputError, match=r"rows 2 and 3.*1 vs 9"):
        read_telemetry([p], _map())


def test_short_gaps_are_interpolated_long_ones_stay_missing(tmp_path):
    rows = [f"2027-01-01T00:{m:02d}:00Z,{m}" for m in [0, 1, 4, 5] + list(range(30, 32))]
    p = _csv(tmp_path, "time,it\n" + "\n".join(rows) + "\n")
    tel = read_telemetry([p], _map(max_gap_s=120))
    it = tel.frame["it_power_kw"].to_numpy()
    assert it[2] == pytest.approx(2.0) and it[3] == pytest.approx(3.0)
    assert np.isnan(it[6:30]).all()
    issues = dict(zip(tel.quality["issue"], tel.quality["count"], strict=True))
    assert issues == {"gap_filled": 2, "gap_missing": 24}


def test_counter_with_reset_becomes_power(tmp_path):
    # a kWh meter: +1 kWh per minute = 60 kW; it restarts from 0 after the third sample
    p = _csv(tmp_path, "time,it,e\n" + "\n".join(
        f"2027-01-01T00:{m:02d}:00Z,1,{v}" for m, v in enumerate([10, 11, 12, 1, 2, 3])) + "\n")
    tel = read_telemetry([p], _map(series={"it_power_kw": IT, "grid_power_kw": {
        "source": "e", "unit": "kWh", "counter": True}}))
    assert tel.frame["grid_power_kw"].iloc[:5].tolist() == pytest.approx([60.0] * 5)
    assert "counter_reset" in set(tel.quality["issue"])


def test_bad_unit_and_impossible_values_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unit 'kWh' not allowed; allowed: MW, W, kW"):
        _map(series={"it_power_kw": {"source": "it", "unit": "kWh"}})
    p = _csv(tmp_path, "time,it\n2027-01-01T00:00:00Z,-5\n")
    with pytest.raises(InputError, match=r"row 2.*physical range.*-5"):
        read_telemetry([p], _map())
    p = _csv(tmp_path, "time,it\n2027-01-01T00:00:00Z,abc\n")
    with pytest.raises(InputError, match=r"row 2.*not a finite number"):
        read_telemetry([p], _map())


def test_prometheus_text_with_labels_sums_matching_gpus(tmp_path):
    lines = ["# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).", "# TYPE DCGM_FI_DEV_POWER_USAGE gauge"]
    for t in (1798761600000, 1798761660000):
        for gpu in range(4):
            lines.append(f'DCGM_FI_DEV_POWER_USAGE{{gpu="{gpu}",Hostname="node-a",job="x \\"y\\""}} 250.5 {t}')
        lines.append(f'DCGM_FI_DEV_POWER_USAGE{{gpu="0",Hostname="login"}} 99 {t}')
    p = _csv(tmp_path, "\n".join(lines) + "\n", "dcgm.prom")
    tel = read_telemetry([p], _map(series={"it_power_kw": {
        "source": "DCGM_FI_DEV_POWER_USAGE", "labels": {"Hostname": "~node-.*"}, "unit": "W"}}))
    assert tel.frame["it_power_kw"].tolist() == pytest.approx([1.002, 1.002])


def test_prometheus_range_json(tmp_path):
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "site_kw", "meter": "main"}, "values": [[1798761600, "10"], [1798761660.0, "12"]]}]}}
    p = tmp_path / "q.json"
    p.write_text(json.dumps(doc))
    tel = read_telemetry([p], _map(series={"it_power_kw": {"source": "site_kw", "unit": "kW"}}))
    assert tel.frame["it_power_kw"].tolist() == [10.0, 12.0]


@pytest.mark.parametrize("content, match", [
    (b"\x00\x01\x02garbage\xff", "no time column|not a readable|not UTF-8|ISO 8601"),
    (b"# TYPE x gauge\nx{a=\"1\" 5 100\n", "line 2"),
    (b"# TYPE x gauge\nx 5\n", "no timestamp"),
    (b'{"data": {"resultType": "vector", "result": []}}', "range-query"),
    (b"[" * 100000, "not valid JSON|range-query"),
    (b"time,it\n2027-13-45T99:00:00Z,1\n", "row 2.*not a valid date"),
])
def test_hostile_files_are_refused_with_a_clear_message(tmp_path, content, match):
    suffix = ".json" if content.startswith((b"{", b"[")) else ".csv"
    p = tmp_path / f"h{suffix}"
    p.write_bytes(content)
    with pytest.raises(InputError, match=match):
        read_telemetry([p], _map(series={"it_power_kw": {"source": "x", "unit": "kW"}}))


def test_a_directory_or_missing_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        read_telemetry([tmp_path], _map())
    with pytest.raises(InputError, match="cannot read"):
        read_telemetry([tmp_path / "nope.csv"], _map())


def test_an_unmatched_source_lists_what_the_file_has(tmp_path):
    p = _csv(tmp_path, "time,power\n2027-01-01T00:00:00Z,1\n")
    with pytest.raises(InputError, match=r"no series.*allowed: power"):
        read_telemetry([p], _map())


def test_a_time_zone_name_too_long_for_a_file_name_is_refused_cleanly():
    # ZoneInfo raised OSError (file name too long): a traceback instead of the mapping's error
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown time zone"):
        TelemetryMap.model_validate({"naive_timezone": "x" * 5000, "series": {}})


def test_a_column_named_twice_is_refused_not_the_first_read(tmp_path):
    # pandas renamed the second 'it' to 'it.1' and the mapping's source 'it' read the first silently
    p = _csv(tmp_path, "time,it,it\n2027-01-01T00:00:00Z,100,900\n2027-01-01T00:01:00Z,100,900\n")
    with pytest.raises(InputError, match="field 'it': column given twice"):
        read_telemetry([p], _map())


def test_humidity_as_fractions_under_percent_is_refused_not_read(tmp_path):
    # an RH column of 0.55, 0.6 under unit '%' was read as 0.55 % (bone-dry air) without a word
    p = _csv(tmp_path, "time,it,rh\n2027-01-01T00:00:00Z,100,0.55\n2027-01-01T00:01:00Z,100,0.6\n")
    pct = {"it_power_kw": IT, "rel_humidity_pct": {"source": "rh", "unit": "%"}}
    with pytest.raises(InputError, match=r"t.csv.*rh.*between 0 and 1.*largest 0.6.*unit 'fraction'"):
        read_telemetry([p], _map(series=pct))
    frac = {"it_power_kw": IT, "rel_humidity_pct": {"source": "rh", "unit": "fraction"}}
    assert read_telemetry([p], _map(series=frac)).frame["rel_humidity_pct"].tolist() == pytest.approx([55.0, 60.0])
    p = _csv(tmp_path, "time,it,rh\n2027-01-01T00:00:00Z,100,0.5\n2027-01-01T00:01:00Z,100,1.5\n", "ok.csv")
    assert read_telemetry([p], _map(series=pct)).frame["rel_humidity_pct"].tolist() == [0.5, 1.5]
