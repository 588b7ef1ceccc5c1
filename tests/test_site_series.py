"""site_series: the one entry point the run uses."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest

from dctwin.config import load_scenario
from dctwin.errors import InputError
from dctwin.site import SITE_COLUMNS, read_epw, site_series
from dctwin.timeline import Timeline


@pytest.fixture(scope="module")
def site():
    return load_scenario("borlange-2027").site


def _with(site, **sections):
    return site.model_copy(update={k: getattr(site, k).model_copy(update=v) for k, v in sections.items()})


def test_shape_columns_and_values(site):
    tl = Timeline(dt.date(2027, 1, 1), 900, 4 * 24 * 365)
    df = site_series(site, tl, seed=42)
    assert list(df.columns) == list(SITE_COLUMNS)
    assert len(df) == tl.n_steps and df.index[0] == 0 and df.index[-1] == tl.n_steps - 1
    assert np.isfinite(df.to_numpy()).all()
    # A one-year synthetic run reproduces the Falun annual mean (~5.8 °C, dossier §3a) and the SE3 price target.
    assert df.dry_bulb_c.mean() == pytest.approx(5.8, abs=0.3)
    assert df.price_eur_per_mwh.mean() == pytest.approx(51.5, rel=0.05)
    assert df.heat_demand_mw.max() <= site.heat_demand.offtake_cap_mw


def test_same_seed_same_bytes(site):
    tl = Timeline(dt.date(2027, 3, 1), 3600, 24 * 20)
    a, b = site_series(site, tl, 1), site_series(site, tl, 1)
    c = site_series(site, tl, 2)
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
    assert not np.array_equal(a.to_numpy(), c.to_numpy())


def test_step_sizes_agree(site):
    hourly = site_series(site, Timeline(dt.date(2027, 1, 1), 3600, 24 * 60), 3)
    quarter = site_series(site, Timeline(dt.date(2027, 1, 1), 900, 4 * 24 * 60), 3)
    daily = site_series(site, Timeline(dt.date(2027, 1, 1), 86400, 60), 3)
    for c in SITE_COLUMNS:
        assert quarter[c].mean() == pytest.approx(hourly[c].mean(), rel=0.02, abs=0.05)
        np.testing.assert_allclose(
            daily[c].to_numpy(), hourly[c].to_numpy().reshape(60, 24).mean(axis=1), rtol=1e-9, atol=1e-9
        )
    # Prices are held within the hour at sub-hourly steps.
    q = quarter.price_eur_per_mwh.to_numpy().reshape(-1, 4)
    assert (q == q[:, :1]).all()


def test_year_at_one_minute_is_fast(site):
    tl = Timeline(dt.date(2027, 1, 1), 60, 525_600)
    site_series(site, Timeline(dt.date(2027, 1, 1), 3600, 24), 0)  # warm caches
    t0 = time.perf_counter()
    df = site_series(site, tl, 0)
    elapsed = time.perf_counter() - t0
    assert len(df) == 525_600
    assert elapsed < 2.0  # typically ~0.3 s; generous for a shared CI machine


def test_multi_year_span(site):
    tl = Timeline(dt.date(2027, 6, 1), 3600, 24 * 365 * 3)
    df = site_series(site, tl, 5)
    assert len(df) == tl.n_steps and np.isfinite(df.to_numpy()).all()


def test_tucson_scenario_uses_packaged_epw():
    sc = load_scenario("borlange-design-in-tucson")
    assert sc.site.climate.source == "epw" and sc.site.climate.path.is_file()
    assert sc.site.grid == load_scenario("borlange-2027").site.grid
    df = site_series(sc.site, Timeline(dt.date(2027, 1, 1), 3600, 8760), 42)
    epw = read_epw(sc.site.climate.path)
    np.testing.assert_allclose(df.dry_bulb_c.to_numpy(), epw.dry_bulb_c.to_numpy())
    assert df.dry_bulb_c.max() > 38.0  # Tucson summers: chiller hours for a 45 °C loop


def test_epw_leap_day_repeats_28_feb():
    sc = load_scenario("borlange-design-in-tucson")
    df = site_series(sc.site, Timeline(dt.date(2028, 2, 28), 3600, 48), 0)
    np.testing.assert_array_equal(df.dry_bulb_c.to_numpy()[:24], df.dry_bulb_c.to_numpy()[24:])


def _grid_csv(tmp_path, start, hours, name="grid.csv"):
    ts = pd.date_range(start, periods=hours, freq="h")
    price = 40.0 + 10.0 * np.sin(np.arange(hours) / 24.0)
    p = tmp_path / name
    pd.DataFrame(
        {"timestamp": ts.strftime("%Y-%m-%d %H:%M"), "price_eur_per_mwh": price, "carbon_g_per_kwh": 30.0}
    ).to_csv(p, index=False)
    return p, price


def test_grid_csv_covering_run(site, tmp_path):
    p, price = _grid_csv(tmp_path, "2027-01-01", 24 * 10)
    s = _with(site, grid={"source": "csv", "path": p})
    df = site_series(s, Timeline(dt.date(2027, 1, 2), 3600, 48), 0)
    np.testing.assert_allclose(df.price_eur_per_mwh.to_numpy(), price[24:72])


def test_grid_csv_as_typical_year_and_too_short(site, tmp_path):
    p, price = _grid_csv(tmp_path, "2023-01-01", 8760)
    s = _with(site, grid={"source": "csv", "path": p})
    df = site_series(s, Timeline(dt.date(2027, 1, 1), 3600, 48), 0)
    np.testing.assert_allclose(df.price_eur_per_mwh.to_numpy(), price[:48])
    short, _ = _grid_csv(tmp_path, "2023-01-01", 100, name="short.csv")
    with pytest.raises(InputError, match="short.csv"):
        site_series(_with(site, grid={"source": "csv", "path": short}), Timeline(dt.date(2027, 1, 1), 3600, 48), 0)


def test_weather_and_heat_csv(site, tmp_path):
    ts = pd.date_range("2027-01-01", periods=72, freq="h").strftime("%Y-%m-%d %H:%M")
    w = tmp_path / "w.csv"
    pd.DataFrame({"timestamp": ts, "dry_bulb_c": -10.0, "rel_humidity_pct": 90.0}).to_csv(w, index=False)
    h = tmp_path / "h.csv"
    pd.DataFrame({"timestamp": ts, "heat_demand_mw": 50.0}).to_csv(h, index=False)
    s = _with(site, climate={"source": "csv", "path": w}, heat_demand={"source": "csv", "path": h})
    df = site_series(s, Timeline(dt.date(2027, 1, 1), 1800, 96), 0)
    assert (df.dry_bulb_c == -10.0).all() and (df.wet_bulb_c < -10.0).all()
    assert (df.heat_demand_mw == s.heat_demand.offtake_cap_mw).all()  # capped
    assert (df.dh_supply_temp_c > 70.0).all()  # from the supply curve at -10 °C


def test_unknown_profile_in_scenario_lists_packaged_ones():
    from pydantic import ValidationError

    from dctwin.config.site import ClimateConfig, GridConfig, HeatDemandConfig

    for cls, field, good in (
        (ClimateConfig, "normals", "borlange"),
        (GridConfig, "profile", "se3"),
        (HeatDemandConfig, "profile", "borlange"),
    ):
        with pytest.raises(ValidationError, match=good):
            cls(**{field: "atlantis"})
