"""The default scenario end to end through the facility model: catalog racks -> IT power -> plant -> KPIs."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.config import load_scenario
from dctwin.facility import cooling_capacity_kw, facility_kpis, it_power_kw, rack_power_curve_kw, simulate_facility
from dctwin.rng import stream
from test_facility_plant import borlange_like, heat_demand_mw


def test_borlange_2027_year_meets_the_issue_targets():
    """borlange-2027: annual PUE about 1.05-1.15 (dossier §4, §7), ERF > 0, no cooling shortfall in a normal year."""
    scenario = load_scenario()
    assert scenario.facility.cooling.design_ambient_c == 35
    group = scenario.phases[0].racks[0]
    platform = get_platform(group.platform)
    installed_kw = group.count * float(rack_power_curve_kw(platform, 1.0))
    ts, db, rh = borlange_like()
    rng = stream(scenario.simulation.seed, "test-facility-scenario")
    utilisation = np.clip(rng.normal(0.75, 0.15, len(ts)), 0.0, 1.0)
    it = it_power_kw(platform, group.count, utilisation)
    cap = cooling_capacity_kw(scenario.facility, db, None, installed_kw,
                              liquid_fraction=platform.liquid_cooled_fraction)
    assert np.all(cap >= it)  # the scheduler would never need to throttle in this climate
    result = simulate_facility(scenario.facility, it, platform.liquid_cooled_fraction, db, None, rh,
                               heat_demand_mw(db), None, installed_kw, scenario.simulation.step_s)
    k = facility_kpis(result, scenario.simulation.step_s, scenario.economics.ppa_share, 30.0, ts)
    assert 1.05 <= k["pue"] <= 1.15, k["pue"]
    assert k["erf"] > 0
    assert k["cooling_shortfall_hours"] == 0
    assert k["ref"] == pytest.approx(scenario.economics.ppa_share)
    frame = result.to_frame(ts)
    assert len(frame) == len(ts) and "grid_power_kw" in frame and frame.index[0] == ts[0]
