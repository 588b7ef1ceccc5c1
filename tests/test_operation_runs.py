"""Energy-aware operation on whole runs: each packaged what-if moves the figures it should, against the base."""

from __future__ import annotations

import pandas as pd
import pytest

import dctwin
from dctwin.accounting import compare_policy
from dctwin.config import load_scenario, scenario_from_dict


def three_weeks(name: str):
    doc = load_scenario(name).model_dump(mode="json")
    doc["simulation"].update(start="2027-02-01", duration_days=21)
    return dctwin.simulate(scenario_from_dict(doc))


@pytest.fixture(scope="module")
def base():
    return three_weeks("borlange-2027")


def test_power_cap_saves_energy_and_peak_at_a_throughput_cost(base):
    capped = three_weeks("borlange-power-cap")
    assert capped.kpis["grid_energy_mwh"] < 0.95 * base.kpis["grid_energy_mwh"]
    assert capped.kpis["peak_grid_power_mw"] < base.kpis["peak_grid_power_mw"] - 1.0
    diff = compare_policy(base.kpis, capped.kpis)
    assert diff["saved"]["energy_saved_mwh"] > 0 and diff["saved"]["energy_cost_saved_eur"] > 0
    assert diff["cost"]["effective_gpu_hours_lost"] > 0          # the slower GPUs are the price paid


def test_demand_response_sheds_load_in_the_event_window(base):
    dr = three_weeks("borlange-demand-response")
    event = dr.scenario.operation.demand_response.events[0]
    start = pd.Timestamp(event.start)
    def in_event(ts):
        return (ts["timestamp"] >= start) & (ts["timestamp"] < start + pd.Timedelta(hours=event.duration_h))
    cut_mw = (base.timeseries.loc[in_event(base.timeseries), "grid_power_kw"].mean()
              - dr.timeseries.loc[in_event(dr.timeseries), "grid_power_kw"].mean()) / 1000
    assert cut_mw >= 0.95 * event.cut_mw                        # the asked cut is delivered, below the baseline
    # work is delayed, not lost
    assert dr.kpis["grid_energy_mwh"] == pytest.approx(base.kpis["grid_energy_mwh"], rel=0.02)


@pytest.mark.parametrize("name", ["borlange-load-shift", "borlange-heat-led"])
def test_deferring_policies_keep_every_job(base, name):
    shifted = three_weeks(name)
    assert len(shifted.jobs) == len(base.jobs)
    assert shifted.jobs["job_id"].is_unique
