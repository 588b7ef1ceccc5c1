"""EPW and CSV readers: the real Arlanda file, and truncated or corrupt copies."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from dctwin.errors import InputError
from dctwin.site import read_epw, read_grid_csv, read_heat_demand_csv, read_weather_csv

WEATHER = Path(str(resources.files("dctwin.site") / "data" / "weather"))
ARLANDA = WEATHER / "SWE_Stockholm.Arlanda.024600_IWEC.epw"


@pytest.fixture(scope="module")
def arlanda():
    return read_epw(ARLANDA)


def test_arlanda_epw_shape_and_columns(arlanda):
    assert len(arlanda) == 8760
    for c in ("month", "day", "hour", "dry_bulb_c", "dew_point_c", "rel_humidity_pct", "atmospheric_pressure_pa"):
        assert c in arlanda
    assert arlanda.hour.min() == 1 and arlanda.hour.max() == 24
    assert arlanda.month.iloc[0] == 1 and arlanda.month.iloc[-1] == 12


def test_arlanda_epw_matches_published_climate(arlanda):
    # Stockholm-area annual mean ~6-7 °C (Falun 5.8 °C inland, dossier §3a; Arlanda is milder);
    # ASHRAE 2009 Handbook design conditions in the file header: 99.6 % heating -17.8 °C, 0.4 % cooling 27.1 °C
    # (the typical year's percentiles sit inside the design extremes).
    t = arlanda.dry_bulb_c.to_numpy()
    assert 5.0 < t.mean() < 8.0
    assert -17.8 - 4.0 < np.percentile(t, 0.4) < -17.8 + 6.0
    assert 27.1 - 6.0 < np.percentile(t, 99.6) <= 27.1 + 2.0
    assert arlanda.rel_humidity_pct.between(0, 100).all()
    jan, jul = (arlanda[arlanda.month == m].dry_bulb_c.mean() for m in (1, 7))
    assert jan < -1.0 and 15.0 < jul < 19.0


def test_all_packaged_epw_files_read():
    for f in WEATHER.glob("*.epw"):
        assert len(read_epw(f)) == 8760


def _copy_with(tmp_path: Path, edit) -> Path:
    lines = ARLANDA.read_text(encoding="utf-8").splitlines()
    lines = edit(lines)
    p = tmp_path / "bad.epw"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_truncated_epw_names_file_and_line(tmp_path):
    p = _copy_with(tmp_path, lambda ls: ls[:5000])
    with pytest.raises(InputError) as e:
        read_epw(p)
    assert "bad.epw" in str(e.value) and "line" in str(e.value) and "8760" in str(e.value)


def test_corrupt_value_names_line_and_field(tmp_path):
    def edit(ls):
        f = ls[100].split(",")
        f[6] = "warm"
        ls[100] = ",".join(f)
        return ls

    with pytest.raises(InputError) as e:
        read_epw(_copy_with(tmp_path, edit))
    msg = str(e.value)
    assert "bad.epw" in msg and "line 101" in msg and "dry_bulb_c" in msg and "warm" in msg


def test_missing_code_and_short_row_rejected(tmp_path):
    def missing(ls):
        f = ls[20].split(",")
        f[6] = "99.9"
        ls[20] = ",".join(f)
        return ls

    with pytest.raises(InputError, match="line 21"):
        read_epw(_copy_with(tmp_path, missing))

    def short(ls):
        ls[30] = ",".join(ls[30].split(",")[:10])
        return ls

    with pytest.raises(InputError, match="line 31"):
        read_epw(_copy_with(tmp_path, short))


def test_not_an_epw(tmp_path):
    p = tmp_path / "x.epw"
    p.write_text("timestamp,dry_bulb_c\n", encoding="utf-8")
    with pytest.raises(InputError, match="LOCATION"):
        read_epw(p)
    with pytest.raises(InputError, match="cannot read"):
        read_epw(tmp_path / "absent.epw")


def _csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "in.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_weather_csv_reads(tmp_path):
    df = read_weather_csv(
        _csv(tmp_path, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-01 00:00,-3.5,80\n2027-01-01 01:00,-4.0,82\n")
    )
    assert list(df.columns) == ["timestamp", "dry_bulb_c", "rel_humidity_pct"]
    assert df.dry_bulb_c.tolist() == [-3.5, -4.0]


@pytest.mark.parametrize(
    "reader, text, match",
    [
        (read_weather_csv, "timestamp,temp,rel_humidity_pct\n2027-01-01,1,50\n2027-01-02,1,50\n", "dry_bulb_c"),
        (read_weather_csv, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-01,1,50\n2027-01-02,x,50\n", "line 3"),
        (read_weather_csv, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-01,1,50\nnot-a-date,1,50\n", "timestamp"),
        (read_weather_csv, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-02,1,50\n2027-01-01,1,50\n", "increase"),
        (read_weather_csv, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-01,1,50\n2027-01-02,1,150\n", "range"),
        (read_grid_csv, "timestamp,price_eur_per_mwh\n2027-01-01,1\n2027-01-02,1\n", "carbon_g_per_kwh"),
        (read_grid_csv, "timestamp,price_eur_per_mwh,carbon_g_per_kwh\n2027-01-01,1,\n2027-01-02,1,2\n", "line 2"),
        (read_heat_demand_csv, "timestamp,heat_mw\n2027-01-01,1\n2027-01-02,1\n", "heat_demand_mw"),
        (read_heat_demand_csv, "timestamp,heat_demand_mw\n2027-01-01,-1\n2027-01-02,1\n", "range"),
    ],
)
def test_csv_readers_reject_bad_input(tmp_path, reader, text, match):
    with pytest.raises(InputError, match=match) as e:
        reader(_csv(tmp_path, text))
    assert "in.csv" in str(e.value)


def test_grid_and_heat_csv_read(tmp_path):
    g = read_grid_csv(
        _csv(
            tmp_path,
            "timestamp,price_eur_per_mwh,carbon_g_per_kwh\n2027-01-01 00:00,-5.2,30\n2027-01-01 01:00,120,41\n",
        )
    )
    assert g.price_eur_per_mwh.tolist() == [-5.2, 120.0]
    h = read_heat_demand_csv(
        _csv(tmp_path, "timestamp,heat_demand_mw,dh_supply_temp_c\n2027-01-01,12,90\n2027-01-02,11,88\n")
    )
    assert h.heat_demand_mw.tolist() == [12.0, 11.0] and "dh_supply_temp_c" in h


@pytest.mark.parametrize("header,problem", [
    ("timestamp,dry_bulb_c,rel_humidity_pct,dry_bulb_c", "column given twice"),
    ("timestamp,dry_bulb_c,rel_humidity_pct,dry_bulb", "unknown column"),
])
def test_a_weather_column_twice_or_unknown_is_refused(tmp_path, header, problem):
    # pandas renamed the second dry_bulb_c and the first was used; an unknown column was dropped silently
    p = tmp_path / "w.csv"
    p.write_text(header + "\n" + "".join(f"2027-01-01 {h:02d}:00,1,80,3\n" for h in range(24)))
    with pytest.raises(InputError, match=problem):
        read_weather_csv(p)


def test_a_misspelt_optional_heat_column_is_refused_not_ignored(tmp_path):
    # dh_supply_temp (no _c) was dropped and the profile's control curve used instead
    p = tmp_path / "h.csv"
    p.write_text("timestamp,heat_demand_mw,dh_supply_temp\n" + "".join(f"2027-01-01 {h:02d}:00,20,80\n"
                                                                       for h in range(24)))
    with pytest.raises(InputError, match="unknown column"):
        read_heat_demand_csv(p)


def test_weather_humidity_as_fractions_is_refused(tmp_path):
    # a column of RH in 0-1 under rel_humidity_pct was read as percent: air at 0.8 % instead of 80 %
    p = _csv(tmp_path, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-01 00:00,-3.5,0.8\n2027-01-01 01:00,-4,1\n")
    with pytest.raises(InputError, match=r"in.csv.*rel_humidity_pct.*between 0 and 1.*largest 1.*multiply"):
        read_weather_csv(p)
    p = _csv(tmp_path, "timestamp,dry_bulb_c,rel_humidity_pct\n2027-01-01 00:00,30,0.8\n2027-01-01 01:00,31,4\n")
    assert read_weather_csv(p).rel_humidity_pct.tolist() == [0.8, 4.0]  # dry desert air, some of it over 1 %


def test_epw_humidity_as_fractions_is_refused(tmp_path):
    def fractions(ls):
        out = ls[:8]
        for line in ls[8:]:
            f = line.split(",")
            f[8] = f"{float(f[8]) / 100:g}"
            out.append(",".join(f))
        return out

    with pytest.raises(InputError, match=r"bad.epw.*EPW field 9.*between 0 and 1"):
        read_epw(_copy_with(tmp_path, fractions))
