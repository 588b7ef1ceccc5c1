"""Price and carbon downloads: ENTSO-E, Nord Pool, Electricity Maps, GB Carbon Intensity, plain CSV.

Time zones and daylight saving are read correctly; gaps, duplicates and
unsorted rows are refused with the line; damaged files (fuzzed) either read
into hourly, finite, in-range data or raise the project's error naming the file.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dctwin.errors import DctwinError, InputError
from dctwin.site.market_readers import read_carbon_file, read_price_file

CET = zoneinfo.ZoneInfo("Europe/Brussels")
FALL = dt.datetime(2023, 10, 28, 20, tzinfo=dt.UTC)  # clocks go back at 01:00 UTC on 29 Oct 2023
SPRING = dt.datetime(2023, 3, 25, 20, tzinfo=dt.UTC)  # and forward at 01:00 UTC on 26 Mar 2023


def _entsoe(start: dt.datetime, hours: int, *, marks: bool = True, step_min: int = 60) -> list[str]:
    rows = ['"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|DE-LU"']
    for k in range(hours * 60 // step_min):
        u = start + dt.timedelta(minutes=k * step_min)
        loc, end = u.astimezone(CET), (u + dt.timedelta(minutes=step_min)).astimezone(CET)
        mark = f" ({loc.tzname()})" if marks else ""
        rows.append(f'"{loc:%d.%m.%Y %H:%M} - {end:%d.%m.%Y %H:%M}{mark}","{k % 24 + 0.5:.2f}","EUR","BZN|DE-LU"')
    return rows


def _write(tmp_path, name: str, lines: list[str]):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


@pytest.mark.parametrize("marks", [True, False])
def test_entsoe_autumn_repeated_hour_is_two_hours(tmp_path, marks):
    df = read_price_file(_write(tmp_path, "e.csv", _entsoe(FALL, 12, marks=marks)), "entsoe", "DE-LU",
                         "Europe/Berlin")
    assert len(df) == 12  # 12 UTC hours, although the local clock shows 02:00 twice
    assert (np.diff(df.timestamp.to_numpy()) == np.timedelta64(1, "h")).all()
    assert df.timestamp.iloc[0] == dt.datetime(2023, 10, 28, 21)  # CET (standard time) = UTC + 1
    np.testing.assert_allclose(df.price_eur_per_mwh, [k % 24 + 0.5 for k in range(12)])


def test_entsoe_spring_has_23_local_hours_and_a_missing_local_hour_is_not_a_gap(tmp_path):
    df = read_price_file(_write(tmp_path, "e.csv", _entsoe(SPRING, 10)), "entsoe", "DE-LU", "Europe/Berlin")
    assert len(df) == 10


def test_entsoe_quarter_hours_are_averaged_to_hours(tmp_path):
    df = read_price_file(_write(tmp_path, "e.csv", _entsoe(FALL, 6, step_min=15)), "entsoe", "DE-LU",
                         "Europe/Berlin")
    assert len(df) == 6
    np.testing.assert_allclose(df.price_eur_per_mwh.iloc[0], np.mean([0.5, 1.5, 2.5, 3.5]))


@pytest.mark.parametrize(("edit", "reason", "line"), [
    (lambda r: r[:5] + r[6:], "gap: 60 minutes missing", 6),
    (lambda r: r[:5] + [r[4]] + r[5:], "duplicate time", 6),
    (lambda r: r[:4] + [r[5], r[4]] + r[6:], "earlier than the row before", 6),
    (lambda r: r[:3] + [r[3].replace('"2.50"', '"n/e"')] + r[4:], "not a number", 4),
    (lambda r: r[:3] + [r[3].replace('"2.50"', '"99999"')] + r[4:], "out of range", 4),
])
def test_broken_entsoe_files_are_refused_with_the_line(tmp_path, edit, reason, line):
    f = _write(tmp_path, "e.csv", edit(_entsoe(FALL, 10)))
    with pytest.raises(InputError, match=reason) as exc:
        read_price_file(f, "entsoe", "DE-LU", "Europe/Berlin")
    assert f"line {line}" in str(exc.value) and str(f) in str(exc.value)


def test_a_local_time_that_does_not_exist_is_refused(tmp_path):
    rows = _entsoe(SPRING, 10, marks=False)
    assert rows[6].startswith('"26.03.2023 03:00 -')  # 01:00 UTC: the first summer-time hour
    rows[6] = rows[6].replace('"26.03.2023 03:00 -', '"26.03.2023 02:00 -')
    with pytest.raises(InputError, match=r"line 7.*does not exist in Europe/Brussels"):
        read_price_file(_write(tmp_path, "e.csv", rows), "entsoe", "DE-LU", "Europe/Berlin")


def test_nord_pool_picks_the_zone_column_and_reads_decimal_commas(tmp_path):
    lines = ["Delivery Start (CET);Delivery End (CET);SE3 (EUR);FI (EUR)"]
    for k in range(6):
        u = (FALL + dt.timedelta(hours=k)).astimezone(CET)
        e = u + dt.timedelta(hours=1)
        lines.append(f"{u:%d.%m.%Y %H:%M:%S};{e:%d.%m.%Y %H:%M:%S};{k},25;{k + 100},5")
    f = _write(tmp_path, "np.csv", lines)
    fi = read_price_file(f, "nordpool", "FI", "Europe/Helsinki")
    np.testing.assert_allclose(fi.price_eur_per_mwh, [k + 100.5 for k in range(6)])
    assert fi.timestamp.iloc[0] == dt.datetime(2023, 10, 28, 22)  # EET standard = UTC + 2
    with pytest.raises(InputError, match=r"no price column for the scenario's zone NO1.*SE3, FI"):
        read_price_file(f, "nordpool", "NO1", "Europe/Oslo")


def test_electricity_maps_uses_life_cycle_intensity(tmp_path):
    lines = ["Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),"
             "Carbon intensity gCO₂eq/kWh (Life cycle)"]
    lines += [f"2023-06-01 {h:02d}:00:00,Germany,Germany,DE,{300 + h},{350 + h}" for h in range(5)]
    df = read_carbon_file(_write(tmp_path, "em.csv", lines), "electricitymaps", "Europe/Berlin")
    np.testing.assert_allclose(df.carbon_g_per_kwh, [350, 351, 352, 353, 354])
    assert df.timestamp.iloc[0] == dt.datetime(2023, 6, 1, 1)  # UTC + 1 (CET, no summer time)


def _uk(n: int) -> dict:
    t0 = dt.datetime(2023, 1, 1)
    return {"data": [{"from": f"{t0 + dt.timedelta(minutes=30 * k):%Y-%m-%dT%H:%MZ}",
                      "to": f"{t0 + dt.timedelta(minutes=30 * k + 30):%Y-%m-%dT%H:%MZ}",
                      "intensity": {"forecast": 100, "actual": 100 + k, "index": "low"}} for k in range(n)]}


def test_gb_carbon_intensity_half_hours_are_averaged(tmp_path):
    f = tmp_path / "uk.json"
    f.write_text(json.dumps(_uk(8)), encoding="utf-8")
    df = read_carbon_file(f, "uk_carbon_intensity", "Europe/London")
    np.testing.assert_allclose(df.carbon_g_per_kwh, [100.5, 102.5, 104.5, 106.5])
    doc = _uk(8)
    doc["data"][3]["intensity"]["actual"] = None
    f.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=r"data\[3\]\.intensity\.actual"):
        read_carbon_file(f, "uk_carbon_intensity", "Europe/London")


def test_plain_price_file_with_a_gap_is_refused(tmp_path):
    lines = ["timestamp,price_eur_per_mwh,carbon_g_per_kwh"]
    lines += [f"2027-01-01 {h:02d}:00,{40 + h},30" for h in range(6) if h != 3]
    with pytest.raises(InputError, match=r"line 5.*consecutive hours"):
        read_price_file(_write(tmp_path, "p.csv", lines), "plain", "SE3", "Europe/Stockholm")


def test_a_run_uses_the_downloaded_prices_and_records_them(tmp_path):
    from dctwin.config import load_scenario
    from dctwin.site import site_series
    from dctwin.site.provenance import site_provenance
    from dctwin.timeline import Timeline

    f = _write(tmp_path, "e.csv", _entsoe(dt.datetime(2022, 12, 31, 23, tzinfo=dt.UTC), 8760))
    base = load_scenario("borlange-design-in-helsinki")
    grid = base.site.grid.model_copy(update={"source": "csv", "path": f, "format": "entsoe"})
    site = base.site.model_copy(update={"grid": grid})
    df = site_series(site, Timeline(dt.date(2027, 3, 1), 3600, 48), 1)
    assert set(np.round(df.price_eur_per_mwh, 2)) <= {k + 0.5 for k in range(24)}
    rows = {r["series"]: r["origin"] for r in site_provenance(site, 1)}
    assert rows["price_eur_per_mwh"].startswith(f"user file {f} (entsoe), sha256 ")
    assert "synthetic, seed 1" in rows["carbon_g_per_kwh"]


# ---- fuzzing: damaged downloads are read into valid data or refused naming the file ----
_JUNK = ["", "n/e", "nan", "inf", "-1e9", "1e400", "abc", "\x00", "é", "01.01.2023", "(CEST)", ";", ",", '"']
_SAMPLES = {
    "entsoe": ("\n".join(_entsoe(FALL, 8)) + "\n", "price"),
    "nordpool": ("Delivery Start (CET);Delivery End (CET);FI (EUR)\n" + "".join(
        f"{(FALL + dt.timedelta(hours=k)).astimezone(CET):%d.%m.%Y %H:%M:%S};x;{k},5\n" for k in range(8)), "price"),
    "electricitymaps": ("Datetime (UTC),Zone id,Carbon intensity gCO₂eq/kWh (Life cycle)\n" + "".join(
        f"2023-06-01 {h:02d}:00:00,DE,{300 + h}\n" for h in range(8)), "carbon"),
    "uk_carbon_intensity": (json.dumps(_uk(8)), "carbon"),
}
FUZZED = {"files": 0}


@st.composite
def _damaged(draw):
    fmt = draw(st.sampled_from(sorted(_SAMPLES)))
    text, kind = _SAMPLES[fmt]
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "junk", "cut", "bytes"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "drop" and lines:
            lines.pop(i)
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and len(lines) > 2:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "junk" and lines:
            cells = lines[i].split(";" if fmt == "nordpool" else ",")
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(_JUNK))
            lines[i] = (";" if fmt == "nordpool" else ",").join(cells)
        elif op == "cut":
            joined = "\n".join(lines)
            lines = joined[: draw(st.integers(0, len(joined)))].split("\n")
        elif op == "bytes" and lines:
            lines[i] = lines[i] + draw(st.text(max_size=4))
    return fmt, kind, "\n".join(lines)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(_damaged())
def test_damaged_downloads_read_cleanly_or_are_refused(tmp_path_factory, case):
    fmt, kind, text = case
    f = tmp_path_factory.mktemp("fz") / f"x.{fmt}"
    f.write_text(text, encoding="utf-8")
    FUZZED["files"] += 1
    try:
        df = (read_price_file(f, fmt, "FI", "Europe/Helsinki") if kind == "price"
              else read_carbon_file(f, fmt, "Europe/London"))
    except DctwinError as exc:
        assert str(f) in str(exc)
        return
    col = "price_eur_per_mwh" if kind == "price" else "carbon_g_per_kwh"
    v = df[col].to_numpy()
    assert len(df) >= 1 and np.isfinite(v).all()
    assert (v >= -5000).all() and (v <= 20000).all()
    assert (np.diff(df.timestamp.to_numpy()) == np.timedelta64(1, "h")).all()


def test_fuzz_count():
    assert FUZZED["files"] >= 300


def test_bare_carriage_return_in_a_header_field_is_refused_with_the_file(tmp_path):
    f = tmp_path / "em.csv"
    f.write_text("Datetime (UTC),Zone\rId,Carbon Intensity gCO2eq/kWh (direct)\n2024-01-01 00:00:00,GB,100\n"
                 "2024-01-01 01:00:00,GB,120\n", encoding="utf-8")
    with pytest.raises(DctwinError, match="line break or quote inside a field") as err:
        read_carbon_file(f, "electricitymaps", "Europe/London")
    assert str(f) in str(err.value)
