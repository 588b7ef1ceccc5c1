"""Taxes and residual mix follow the site; every series records its origin; misplaced data are warned about."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from dctwin.config import load_scenario, scenario_from_dict
from dctwin.errors import ScenarioError
from dctwin.site import load_profile
from dctwin.site.provenance import economics_provenance, site_provenance, site_warnings


def _scenario(tmp_path, body: str):
    f = tmp_path / "s.yaml"
    f.write_text("name: s\nextends: borlange-2027\n" + body, encoding="utf-8")
    return load_scenario(f)


def test_taxes_fees_and_residual_mix_come_from_the_site():
    se, fi = load_scenario("borlange-2027").economics, load_scenario("borlange-design-in-helsinki").economics
    assert (se.energy_tax_eur_per_mwh, se.grid_fee_eur_per_mwh, se.residual_mix_g_per_kwh) == (38.0, 8.0, 38.95)
    assert fi.energy_tax_eur_per_mwh == pytest.approx(22.53)  # Finland class I from July 2026
    assert fi.residual_mix_g_per_kwh == load_profile("grid", "fi")["residual_mix_g_per_kwh"]
    assert fi.energy_tax_eur_per_mwh != se.energy_tax_eur_per_mwh
    assert (se.heat_price_eur_per_mwh, fi.heat_price_eur_per_mwh) == (22.0, 20.0)  # from each heat network file


def test_a_value_set_in_the_scenario_wins_and_is_labelled(tmp_path):
    sc = _scenario(tmp_path, "economics: {energy_tax_eur_per_mwh: 5.0}\n")
    assert sc.economics.energy_tax_eur_per_mwh == 5.0
    rows = {r["series"]: r for r in economics_provenance(sc)}
    assert rows["energy_tax_eur_per_mwh"]["data_file"] == "scenario"
    assert rows["grid_fee_eur_per_mwh"]["data_file"] == "site/data/tariffs/se.yaml"


def test_a_copy_moved_to_another_country_takes_that_countrys_figures():
    """Sweeps and re-loads work on dumps: site-derived figures are dumped unset and refilled."""
    data = load_scenario("borlange-2027").model_dump(mode="json")
    assert data["economics"]["energy_tax_eur_per_mwh"] is None
    data["site"]["country"], data["site"]["grid"]["zone"] = "DE", "DE-LU"
    moved = scenario_from_dict(data)
    assert moved.economics.energy_tax_eur_per_mwh == 20.5  # Stromsteuer
    assert moved.economics.residual_mix_g_per_kwh == load_profile("grid", "de-lu")["residual_mix_g_per_kwh"]


def test_unknown_country_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(ScenarioError, match=r"no tariff data for country 'XX'.*DE.*FI.*SE"):
        _scenario(tmp_path, "site: {country: XX}\n")


def test_every_series_records_its_origin():
    sc = load_scenario("borlange-design-in-helsinki")
    rows = site_provenance(sc.site, 42)
    assert [r["series"].split(" ")[0].rstrip(",") for r in rows] == ["dry_bulb_c", "air_pressure_pa",
                                                                      "price_eur_per_mwh", "heat_demand_mw"]
    # the Helsinki EPW carries hourly station pressure: its mean, within 3 % of the standard atmosphere at 20 m
    pa = float(rows[1]["origin"].split(" Pa")[0].replace(",", ""))
    assert pa == pytest.approx(101_085, rel=0.03) and "mean of the weather file's 8,760 hourly" in rows[1]["origin"]
    epw = sc.site.climate.path
    assert hashlib.sha256(epw.read_bytes()).hexdigest() in rows[0]["origin"]
    assert rows[0]["origin"].startswith("packaged file site/data/weather/FIN_Helsinki")
    assert "seed 42" in rows[2]["origin"] and "zone FI" in rows[2]["origin"]


def test_warnings_name_data_made_for_another_place(tmp_path):
    assert site_warnings(load_scenario("borlange-2027").site) == []
    assert site_warnings(load_scenario("borlange-design-in-helsinki").site) == []  # its own weather, zone, network
    moved = ("site: {name: Helsinki, country: FI, latitude_deg: 60.17, longitude_deg: 24.94, "
             "timezone: Europe/Helsinki, grid: {zone: FI}}\n")
    borrowed = site_warnings(_scenario(tmp_path, moved).site)
    assert any("district-heating" in w and "525 km" in w for w in borrowed)
    assert any("climate normals" in w for w in borrowed)
    tucson = site_warnings(load_scenario("borlange-design-in-tucson").site)
    assert any("Davis Monthan" in w for w in tucson)
    wrong_zone = site_warnings(_scenario(tmp_path, "site: {country: FI}\n").site)
    assert any("grid zone SE3 lies in SE, but the site's country is FI" in w for w in wrong_zone)


def test_validate_prints_the_warning_and_still_exits_0(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: s\nextends: borlange-design-in-helsinki\nsite: {heat_demand: {profile: borlange}}\n",
                 encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "dctwin", "scenario", "validate", str(f)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0
    assert "warning:" in p.stderr and "district-heating" in p.stderr


def test_unknown_zone_exits_2_naming_the_known_zones(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: s\nextends: borlange-2027\nsite: {grid: {zone: ATLANTIS}}\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "dctwin", "scenario", "validate", str(f)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "unknown grid zone 'ATLANTIS'" in p.stderr and "DE-LU" in p.stderr and "Traceback" not in p.stderr


def test_site_zones_command_lists_zones_and_countries():
    p = subprocess.run([sys.executable, "-m", "dctwin", "site", "zones"], capture_output=True, text=True,
                       timeout=120, env={**__import__("os").environ, "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    for word in ("DE-LU", "NO4", "ERCOT", "Finland", "22.53"):
        assert word in p.stdout
    assert "False" not in p.stdout
