"""District-heating demand and supply temperature."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.errors import InputError
from dctwin.site import dh_supply_temp_c, heat_demand, heat_price_factor, load_profile, synthesize_weather
from dctwin.site.calendar import HourlyCalendar

START = dt.date(2027, 1, 1)


def test_january_above_july_and_never_above_cap():
    w = synthesize_weather(load_profile("climate", "borlange"), START, 8760, seed=4)
    cal = HourlyCalendar.build(START, 8760)
    d = heat_demand(load_profile("heat", "borlange"), w.dry_bulb_c, None, offtake_cap_mw=30.0)
    m = d.heat_demand_mw.groupby(cal.month0).mean()
    assert m[0] > 2 * m[6]
    assert d.heat_demand_mw.max() <= 30.0 and d.heat_demand_mw.min() >= 0.0
    # waste incineration (must-run) covers the summer load: nothing to sell in the warmest hours
    assert (d.heat_demand_mw[w.dry_bulb_c >= 17.0] == 0.0).all() and (d.heat_demand_mw[w.dry_bulb_c < 10.0] > 0).all()
    small = heat_demand(load_profile("heat", "borlange"), w.dry_bulb_c, None, offtake_cap_mw=5.0)
    assert small.heat_demand_mw.max() == pytest.approx(5.0)


def test_demand_monotone_in_outdoor_temperature():
    t = np.linspace(-35, 30, 66)
    d = heat_demand(load_profile("heat", "borlange"), t, None, offtake_cap_mw=1e3).heat_demand_mw.to_numpy()
    assert np.all(np.diff(d) <= 1e-12)
    assert d[-1] == d[-2] == 0.0  # above the balance temperature the must-run sources cover the load


def test_must_run_sources_limit_what_the_datacenter_can_sell():
    """Sellable heat = share x (network load - must-run), from the data file's own numbers."""

    p = load_profile("heat", "borlange")
    t = np.array([-20.0, -5.0, 0.0, 10.0])
    network = p["base_load_mw"] + p["slope_mw_per_k"] * np.maximum(0.0, p["balance_temp_c"] - t)
    want = np.minimum(1e3, p["site_share"] * np.maximum(0.0, network - p["must_run_mw"]))
    got = heat_demand(load_profile("heat", "borlange"), t, None, offtake_cap_mw=1e3).heat_demand_mw.to_numpy()
    np.testing.assert_allclose(got, want)
    assert got[0] < p["site_share"] * network[0]  # less than without the must-run sources


def test_supply_temperature_curve():
    # Swedish DH water 70-120 °C (Ei); 3rd-generation supply 80-110 °C (VICUS): ~70 °C summer, ~100 °C at -20 °C.
    s = dh_supply_temp_c(load_profile("heat", "borlange"), np.array([25.0, 5.0, -7.5, -20.0, -35.0]))
    assert s == pytest.approx([70.0, 70.0, 85.0, 100.0, 100.0])


def test_heat_price_shape():
    # Borlänge Energi 2021 commercial: winter 37.8, shoulder 27.5, summer 10.0 öre/kWh (dossier §3d).
    f = heat_price_factor("borlange", np.arange(1, 13))
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert np.sum(f * days) / days.sum() == pytest.approx(1.0)
    assert f[0] / f[6] == pytest.approx(37.8 / 10.0)


def test_bad_cap():
    with pytest.raises(InputError, match="offtake"):
        heat_demand(load_profile("heat", "borlange"), [0.0], None, offtake_cap_mw=-1.0)


def test_unknown_profile_lists_valid():
    with pytest.raises(InputError, match="borlange"):
        heat_demand(load_profile("heat", "nowhere"), [0.0], None, offtake_cap_mw=1.0)
