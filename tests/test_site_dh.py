"""District heating per site: the site's own network and climate, and a constant supply temperature that is used."""

from __future__ import annotations

import datetime as dt

import numpy as np

from dctwin.config import load_scenario
from dctwin.config.facility import FacilityConfig
from dctwin.facility.plant import simulate_facility
from dctwin.site import load_profile, site_series
from dctwin.site.calendar import HourlyCalendar
from dctwin.timeline import Timeline

YEAR = Timeline(dt.date(2027, 1, 1), 3600, 8760)


def test_helsinki_heat_comes_from_its_own_network_and_weather():
    hel = load_scenario("borlange-design-in-helsinki")
    bor = load_scenario("borlange-2027")
    h, b = site_series(hel.site, YEAR, 1), site_series(bor.site, YEAR, 1)
    p = load_profile("heat", "helsinki")
    assert h.dh_supply_temp_c.max() > 100.0 and h.dh_supply_temp_c.min() == p["supply_temp_min_c"]
    assert b.dh_supply_temp_c.max() <= 100.0  # Borlänge's curve tops out at 100 °C
    month0 = HourlyCalendar.build(YEAR.start, 8760).month0
    jan, jul = h.heat_demand_mw[month0 == 0], h.heat_demand_mw[month0 == 6]
    assert (jan == 30.0).all()  # offtake cap all January
    assert (jul == 0.0).mean() > 0.3 and jul.mean() < 0.7 * jan.mean()  # must-run sources cover warm July hours
    assert not np.array_equal(h.heat_demand_mw.to_numpy(), b.heat_demand_mw.to_numpy())


def test_a_constant_supply_temperature_in_the_design_is_used():
    """facility.heat_reuse.dh_supply_temp_c set to a 35 °C low-temperature network lowers heat-pump power."""
    n = 24
    args = dict(it_power_kw=np.full(n, 9000.0), liquid_fraction=0.9, dry_bulb_c=np.full(n, -5.0), wet_bulb_c=None,
                rel_humidity_pct=80.0, heat_demand_mw=np.full(n, 20.0), dh_supply_temp_c=np.full(n, 90.0),
                installed_it_kw=10_000.0, step_s=3600)
    site_curve = simulate_facility(FacilityConfig(), **args)
    low = simulate_facility(FacilityConfig.model_validate({"heat_reuse": {"dh_supply_temp_c": 35.0}}), **args)
    assert low.grid_power_kw.sum() < site_curve.grid_power_kw.sum()


def test_site_what_ifs_compare_side_by_side(tmp_path):
    """Same design in five places: each run takes its own prices, carbon, taxes and heat; compare shows it."""
    from dctwin.config.load import scenario_from_dict
    from dctwin.orchestrator import run
    from dctwin.report import write_comparison

    dirs, kpis = [], {}
    for name in ("borlange-2027", "borlange-design-in-helsinki", "borlange-design-in-frankfurt",
                 "borlange-design-in-dublin", "borlange-design-in-texas"):
        data = load_scenario(name).model_dump(mode="json")
        data["simulation"]["duration_days"] = 3
        result = run(scenario_from_dict(data, source=name), tmp_path / name)
        dirs.append(tmp_path / name)
        kpis[name] = result.kpis
    price = {n: k["energy_cost_eur_per_mwh"] for n, k in kpis.items()}
    carbon = {n: k["emissions_location_t"] / k["grid_energy_mwh"] for n, k in kpis.items()}
    assert len({round(v, 3) for v in price.values()}) == 5 and len({round(v, 5) for v in carbon.values()}) == 5
    assert carbon["borlange-design-in-frankfurt"] > 5 * carbon["borlange-2027"]  # DE-LU 381 vs SE3 36 g/kWh
    assert kpis["borlange-design-in-texas"]["heat_delivered_mwh"] == 0.0  # no network to sell to
    assert kpis["borlange-design-in-helsinki"]["heat_delivered_mwh"] > 0.0
    html = write_comparison(dirs, tmp_path / "compare.html").read_text(encoding="utf-8")
    for name in kpis:
        assert name in html
