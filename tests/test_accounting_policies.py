"""Operation policies: each moves energy, cost and work the right way, and reports it."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dctwin.accounting import account, compare_policy
from dctwin.config.operation import OperationConfig
from dctwin.errors import InputError
from dctwin.operation import (
    ExogenousInputs,
    apply_plan,
    get_policy,
    no_policy_plan,
    plan_operation,
    power_cap_throughput_factor,
)
from test_accounting_fixtures import default_scenario, platforms, vr_platform

N_GPUS = 7200
STEP_S = 900


@pytest.fixture(scope="module")
def exo():
    n = 14 * 96
    ts = pd.date_range("2027-01-04", periods=n, freq="15min")
    hour = ts.hour.to_numpy() + ts.minute.to_numpy() / 60
    price = 50 + 30 * np.sin((hour - 12) / 24 * 2 * np.pi)          # evening peak, night trough
    carbon = 30 + 10 * np.cos(hour / 24 * 2 * np.pi)
    heat = 20 + 10 * np.cos(hour / 24 * 2 * np.pi)
    return ExogenousInputs(timestamps=ts, step_s=STEP_S, price_eur_per_mwh=price, carbon_g_per_kwh=carbon,
                           gpus_installed=np.full(n, N_GPUS), platform=vr_platform(), heat_demand_mw=heat)


def _run(exo, plan):
    train = np.full(exo.n_steps, 0.55 * N_GPUS)
    inf = np.full(exo.n_steps, 0.2 * N_GPUS)
    series = apply_plan(exo, plan, train, inf)
    return series, account(default_scenario(), series, STEP_S, platforms()).kpis


def _policy(exo, **cfg):
    return plan_operation(OperationConfig(**cfg), exo)


def test_no_policy_changes_nothing(exo):
    plan = plan_operation(OperationConfig(), exo)
    assert np.all(plan.power_cap_frac == 1) and np.all(plan.defer_ok) and np.all(plan.gpu_cap == N_GPUS)
    assert np.allclose(plan.throughput_factor, 1.0)


def test_power_cap_lowers_energy_and_throughput(exo):
    _, base = _run(exo, no_policy_plan(exo))
    _, capped = _run(exo, _policy(exo, policies=["power_cap"], power_cap={"cap_frac": 0.7}))
    diff = compare_policy(base, capped)
    assert diff["saved"]["energy_saved_mwh"] > 0
    assert diff["saved"]["energy_cost_saved_eur"] > 0
    assert diff["cost"]["effective_gpu_hours_lost"] > 0
    # the throughput cost is smaller than the power cut: capping trades power for a smaller loss of work
    f = float(power_cap_throughput_factor(vr_platform(), 0.7))
    assert 0.7 < f < 1.0


def test_price_triggered_cap_only_in_expensive_steps(exo):
    plan = _policy(exo, policies=["power_cap"], power_cap={"cap_frac": 0.8, "when": "price_above",
                                                           "price_above_eur_per_mwh": 70})
    expensive = exo.price_eur_per_mwh > 70
    assert np.all(plan.power_cap_frac[expensive] == 0.8) and np.all(plan.power_cap_frac[~expensive] == 1.0)


def test_load_shift_lowers_cost_per_mwh_and_finishes_the_work(exo):
    _, base = _run(exo, no_policy_plan(exo))
    s1, shifted = _run(exo, _policy(exo, policies=["load_shift"], load_shift={"closed_share": 0.25}))
    assert shifted["energy_cost_eur_per_mwh"] < base["energy_cost_eur_per_mwh"]
    diff = compare_policy(base, shifted)
    assert diff["saved"]["energy_cost_saved_eur"] > 0
    # work is delayed, not lost: training done + backlog left = training asked for
    step_h = STEP_S / 3600
    asked = 0.55 * N_GPUS * exo.n_steps * step_h
    done = s1["gpus_busy_training"].sum() * step_h
    assert done + s1["backlog_gpu_hours"].iloc[-1] == pytest.approx(asked)
    # and the backlog does not grow from day to day (spare GPUs absorb it)
    end_of_day = s1["backlog_gpu_hours"].to_numpy()[95::96]
    assert end_of_day.max() == pytest.approx(end_of_day[0]) and end_of_day[0] > 0


def test_carbon_shift_lowers_location_emissions(exo):
    _, base = _run(exo, no_policy_plan(exo))
    _, shifted = _run(exo, _policy(exo, policies=["load_shift"], load_shift={"signal": "carbon"}))
    assert compare_policy(base, shifted)["saved"]["emissions_location_saved_t"] > 0


def test_demand_response_cuts_power_in_the_window_and_delays_work(exo):
    start = dt.datetime(2027, 1, 6, 17, 0)
    cfg = OperationConfig(policies=["demand_response"], facility_overhead=1.1,
                          demand_response={"events": [{"start": start, "duration_h": 3, "cut_mw": 4.0}]})
    plan = plan_operation(cfg, exo)
    s0, base = _run(exo, no_policy_plan(exo))
    s1, dr = _run(exo, plan)
    win = (s0["timestamp"] >= pd.Timestamp(start)) & (s0["timestamp"] < pd.Timestamp(start) + pd.Timedelta(hours=3))
    assert win.sum() == 12
    cut_mw = (s0.loc[win, "grid_power_kw"] - s1.loc[win, "grid_power_kw"]).mean() / 1000
    assert cut_mw > 0
    outside = ~win & (s1["timestamp"] < pd.Timestamp(start))
    assert np.allclose(s0.loc[outside, "grid_power_kw"], s1.loc[outside, "grid_power_kw"])
    gpus_cut = plan.notes["demand_response_events"][0]["gpus_cut"]
    assert gpus_cut * exo.gpu_max_kw * 1.1 >= 4000  # sized to shed >= 4 MW from full load
    # the work is delayed, not dropped: the backlog builds in the event and the energy comes back later
    assert s1["backlog_gpu_hours"].max() > 0
    diff = compare_policy(base, dr)
    assert abs(diff["saved"]["energy_saved_mwh"]) < 1e-6 * base["grid_energy_mwh"]


def test_heat_led_closes_low_demand_winter_steps(exo):
    plan = _policy(exo, policies=["heat_led"])
    assert 0 < (~plan.defer_ok).sum() < exo.n_steps
    assert exo.heat_demand_mw[plan.defer_ok].mean() > exo.heat_demand_mw[~plan.defer_ok].mean()


def test_combined_policies_take_the_tightest(exo):
    plan = _policy(exo, policies=["power_cap", "load_shift"], power_cap={"cap_frac": 0.9})
    assert np.all(plan.power_cap_frac == 0.9) and (~plan.defer_ok).any()


def test_unknown_policy_lists_valid_names():
    with pytest.raises(InputError, match="power_cap"):
        get_policy("cheap_hours", None)
    with pytest.raises(ValueError, match="valid"):
        OperationConfig(policies=["cheap_hours"])


def test_run_plan_view_for_the_orchestrator():
    """plan_operation(scenario, timeline, site, pools): per-pool caps split by GPU share."""
    from types import SimpleNamespace

    from dctwin.operation import RunPlan
    from dctwin.timeline import Timeline

    tl = Timeline(start=dt.date(2027, 1, 1), step_s=3600, n_steps=48)
    site = pd.DataFrame({"price_eur_per_mwh": np.linspace(10, 100, 48), "carbon_g_per_kwh": 30.0,
                         "heat_demand_mw": 20.0, "dry_bulb_c": -5.0})
    plat = vr_platform()
    pools = [SimpleNamespace(platform=plat, gpus_online=np.full(48, 72 * 60)),
             SimpleNamespace(platform=plat, gpus_online=np.full(48, 72 * 40))]
    scen = SimpleNamespace(operation=OperationConfig(
        policies=["demand_response", "power_cap"], power_cap={"cap_frac": 0.85},
        demand_response={"events": [{"start": dt.datetime(2027, 1, 1, 10), "duration_h": 2, "cut_mw": 2.0}]}))
    rp = plan_operation(scen, tl, site, pools)
    assert isinstance(rp, RunPlan) and rp.active
    # demand response is a cut below each pool's own baseline, split by GPU share, only in the event
    cuts = [rp.gpu_cut(p) for p in pools]
    assert cuts[0][10] + cuts[1][10] >= rp.notes["demand_response_events"][0]["gpus_cut"]
    assert cuts[0][10] > cuts[1][10] > 0 and cuts[0][0] == 0 and cuts[0][12] == 0
    assert rp.gpu_cap(pools[0]) is None                          # no absolute cap besides
    assert np.all(rp.throughput_factor(pools[0]) < 1) and np.all(rp.power_cap_frac == 0.85)
    neutral = plan_operation(SimpleNamespace(), tl, site, pools)
    assert neutral.gpu_cap(pools[0]) is None and not neutral.active
