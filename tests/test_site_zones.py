"""Grid-zone library: every zone's generated year meets its sourced statistics; zones change runs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.config import load_scenario
from dctwin.errors import ScenarioError
from dctwin.site import available_profiles, load_profile, site_series, synthesize_grid
from dctwin.site.calendar import HourlyCalendar
from dctwin.timeline import Timeline

START = dt.date(2027, 1, 1)
ZONES = available_profiles("grid")
REQUIRED = {"se1", "se2", "se3", "se4", "no1", "no2", "no3", "no4", "no5", "fi", "dk1", "dk2", "de-lu", "fr", "nl",
            "be", "ie", "pl", "es", "it-north", "gb"}
US = {"ercot", "pjm", "caiso", "miso"}


def test_library_covers_the_markets_where_ai_datacenters_are_built():
    assert REQUIRED <= set(ZONES)
    assert len(US & set(ZONES)) >= 4
    assert len(ZONES) >= 20


def _weights() -> np.ndarray:
    return np.bincount(HourlyCalendar.build(START, 8760).month0, minlength=12).astype(float)


@pytest.mark.parametrize("zone", ZONES)
def test_sourced_monthly_means_agree_with_the_annual_mean(zone):
    """The data file is consistent: its monthly means average (by hours) to its annual mean within 2 %."""
    p = load_profile("grid", zone)
    w = _weights()
    for m_key, a_key in (("monthly_mean_eur_per_mwh", "annual_mean_eur_per_mwh"),
                         ("carbon_monthly_mean_g_per_kwh", "carbon_annual_mean_g_per_kwh")):
        m = np.asarray(p[m_key], float)
        assert m.size == 12
        assert np.dot(m, w) / w.sum() == pytest.approx(p[a_key], rel=0.02)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("seed", [3, 11])
def test_generated_year_matches_sourced_means(zone, seed):
    """Annual mean price and carbon within 2 %, every monthly mean within 10 % of the data file."""
    p = load_profile("grid", zone)
    g = synthesize_grid(load_profile("grid", zone), START, 8760, seed)
    month0 = HourlyCalendar.build(START, 8760).month0
    assert g.price_eur_per_mwh.mean() == pytest.approx(p["annual_mean_eur_per_mwh"], rel=0.02)
    assert g.carbon_g_per_kwh.mean() == pytest.approx(p["carbon_annual_mean_g_per_kwh"], rel=0.02)
    price_m = g.groupby(month0).price_eur_per_mwh.mean().to_numpy()
    carbon_m = g.groupby(month0).carbon_g_per_kwh.mean().to_numpy()
    np.testing.assert_allclose(price_m, p["monthly_mean_eur_per_mwh"], rtol=0.10)
    np.testing.assert_allclose(carbon_m, p["carbon_monthly_mean_g_per_kwh"], rtol=0.10)
    assert (g.carbon_g_per_kwh >= 0).all()
    share = float((g.price_eur_per_mwh < 0).mean())
    assert share == pytest.approx(p["negative_hour_share"], abs=0.01)


def test_a_part_year_run_sees_its_own_months():
    """A run of one summer month gets that month's price level, not the annual mean."""
    p = load_profile("grid", "fi")
    g = synthesize_grid(load_profile("grid", "fi"), dt.date(2027, 8, 1), 31 * 24, 5)
    assert g.price_eur_per_mwh.mean() == pytest.approx(p["monthly_mean_eur_per_mwh"][7], rel=0.15)


def test_changing_the_zone_changes_price_and_carbon():
    base = load_scenario("borlange-2027")
    tl = Timeline(START, 3600, 8760)
    se3 = site_series(base.site, tl, 7)
    fi_site = base.site.model_copy(update={"grid": base.site.grid.model_copy(update={"zone": "FI"})})
    fi = site_series(fi_site, tl, 7)
    pf, pc = load_profile("grid", "fi"), load_profile("grid", "se3")
    assert fi.price_eur_per_mwh.mean() == pytest.approx(pf["annual_mean_eur_per_mwh"], rel=0.02)
    assert se3.price_eur_per_mwh.mean() == pytest.approx(pc["annual_mean_eur_per_mwh"], rel=0.02)
    assert fi.carbon_g_per_kwh.mean() == pytest.approx(pf["carbon_annual_mean_g_per_kwh"], rel=0.02)
    assert abs(fi.carbon_g_per_kwh.mean() - se3.carbon_g_per_kwh.mean()) > 20.0  # 79 vs 36 g/kWh


def test_helsinki_what_if_uses_finnish_prices_and_carbon():
    sc = load_scenario("borlange-design-in-helsinki")
    assert sc.site.grid.zone == "FI" and sc.site.grid.profile_id == "fi"
    assert sc.site.country == "FI"
    df = site_series(sc.site, Timeline(START, 3600, 8760), sc.simulation.seed)
    assert df.price_eur_per_mwh.mean() == pytest.approx(load_profile("grid", "fi")["annual_mean_eur_per_mwh"], rel=0.02)


def _scenario(tmp_path, grid: str):
    f = tmp_path / "s.yaml"
    f.write_text(f"name: s\nextends: borlange-2027\nsite:\n  grid: {grid}\n", encoding="utf-8")
    return f


def test_unknown_zone_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(ScenarioError, match=r"unknown grid zone 'XX'.*DE-LU.*FI.*SE3"):
        load_scenario(_scenario(tmp_path, "{zone: XX}"))


def test_zone_names_are_case_insensitive(tmp_path):
    assert load_scenario(_scenario(tmp_path, "{zone: it-north}")).site.grid.zone == "IT-NORTH"


def test_another_zones_profile_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="statistics of zone SE3, not of zone FI"):
        load_scenario(_scenario(tmp_path, "{zone: FI, profile: se3}"))


def test_zone_and_tariff_headers_name_known_countries_as_text():
    """'NO' must stay the text 'NO' (YAML 1.1 would read it as false) and every zone's country has a tariff."""
    from dctwin.config.site import known_countries
    from dctwin.site.profiles import profile_header

    countries = known_countries()
    for ident in ZONES:
        h = profile_header("grid", ident)
        assert isinstance(h["country"], str) and h["country"] in countries, ident
        assert h["zone"].upper() == ident.upper() and isinstance(h["timezone"], str)
    for cc in countries:
        h = profile_header("tariffs", cc.lower())
        assert h["country"] == cc and h["id"] == cc.lower()
