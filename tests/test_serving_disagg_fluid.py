"""Disaggregated serving at site scale: pools sized apart, busy shares, IT power, and a year that uses them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import dctwin
from dctwin.catalog import get_platform
from dctwin.cluster.inference import inference_gpus_needed, served_tokens
from dctwin.config import load_scenario
from dctwin.config.load import scenario_from_dict
from dctwin.facility.it_power import rack_power_curve_kw
from dctwin.perf import disaggregated_perf
from dctwin.serving.disagg_fluid import pool_loads, pool_sizes

H100 = get_platform("hgx-h100")


@pytest.fixture(scope="module")
def unit():
    return disaggregated_perf(H100, "llama-2-70b", 4, 4, "fp8", 1024, 256, tpot_target_s=0.04)


def test_each_pool_grows_with_its_own_load(unit):
    out = np.array([0.0, 2_000.0, 20_000.0, 200_000.0])
    s = pool_sizes(unit, 4, 4, out, 256.0)
    assert np.all(np.diff(s.prefill_units) >= 0) and np.all(np.diff(s.decode_units) >= 0)
    assert s.prefill_units[0] == 1 and s.decode_units[0] == 1          # at least one unit of each pool
    # at 80 % target load every pool carries its share of the demand
    assert np.all(s.prefill_units * unit.prefill_requests_per_s * 0.8 >= out / 256 - 1e-9)
    assert np.all(s.decode_units * unit.decode_tokens_per_s * 0.8 >= out - 1e-9)
    assert s.gpus.tolist() == (4 * (s.prefill_units + s.decode_units)).tolist()


def test_a_slow_kv_link_takes_more_prefill_units(unit):
    out = np.array([50_000.0])
    slow = dataclasses.replace(unit, kv_requests_per_s=unit.prefill_requests_per_s / 3)
    assert pool_sizes(slow, 4, 4, out, 256.0).prefill_units[0] > pool_sizes(unit, 4, 4, out, 256.0).prefill_units[0]
    loads = pool_loads(slow, pool_sizes(slow, 4, 4, out, 256.0), np.ones(1), out, 256.0, H100)
    assert loads.kv_link_busy[0] > loads.prefill_busy[0]                # the link binds, the GPUs wait on it


def test_prefill_gpus_idle_between_prompts_draw_less_power(unit):
    out = np.array([1_000.0, 10_000.0, 30_000.0])
    s = pool_sizes(unit, 4, 4, out, 256.0)
    loads = pool_loads(unit, s, np.ones(3), out, 256.0, H100)
    assert np.allclose(loads.prefill_busy, out / 256 / (s.prefill_units * unit.prefill_requests_per_s))
    assert np.all((loads.decode_busy > 0.99) & (loads.decode_busy <= 1.0))   # many sequences in flight
    full = rack_power_curve_kw(H100, 1.0) * s.gpus / H100.gpus_per_unit
    idle = rack_power_curve_kw(H100, 0.0) * s.gpus / H100.gpus_per_unit
    assert np.all((idle < loads.it_power_kw) & (loads.it_power_kw < full))
    assert loads.idle_gpus == pytest.approx(s.prefill_gpus * (1 - loads.prefill_busy)
                                            + s.decode_gpus * (1 - loads.decode_busy))


def _disaggregated_services():
    from dctwin.config.workload import WorkloadConfig
    from dctwin.workload import services
    return services(WorkloadConfig.model_validate({"inference": [{
        "model": "llama-2-70b", "peak_requests_per_s": 5.0, "ttft_ms": 2000.0, "tpot_ms": 40.0,
        "disaggregated": {"prefill_gpus": 4, "decode_gpus": 4}}]}))


def test_a_short_grant_serves_what_the_granted_pools_carry():
    svcs = _disaggregated_services()
    row = svcs.loc["llama-2-70b"]
    out = np.array([20_000.0, 20_000.0])
    inp = out * row["mean_input_tokens"] / row["mean_output_tokens"]
    demand = pd.DataFrame({"llama-2-70b__output_tokens_per_s": out, "llama-2-70b__input_tokens_per_s": inp})
    need = inference_gpus_needed(demand, svcs, H100)
    granted = need["gpus_needed"].to_numpy() * np.array([1.0, 0.5])
    served = served_tokens(demand, svcs, need, granted, platform=H100)
    full, half = served["llama-2-70b__output_tokens_served_per_s"].to_numpy()
    assert full == pytest.approx(20_000.0) and half < full
    cap = served["llama-2-70b__capacity_output_tokens_per_s"].to_numpy()
    assert cap[1] == pytest.approx(cap[0] / 2) and half == pytest.approx(min(20_000.0, cap[1]))
    assert served["llama-2-70b__gpus_busy"].tolist() == pytest.approx(granted.tolist())
    with pytest.raises(dctwin.errors.InputError, match="platform"):
        served_tokens(demand, svcs, need, granted)


def test_a_year_with_disaggregated_services_charges_each_pool_its_power():
    doc = load_scenario().model_dump(mode="json")
    doc["simulation"].update(duration_days=2)
    split = dict(doc, workload=dict(doc["workload"], inference=[
        dict(s, disaggregated={"prefill_gpus": 8, "decode_gpus": 8}) for s in doc["workload"]["inference"]]))
    r = dctwin.simulate(scenario_from_dict(split))
    ts, k = r.timeseries, r.kpis
    names = [s["name"] or s["model"] for s in split["workload"]["inference"]]
    pools = sum(ts[f"{n}__prefill_gpus_busy"] + ts[f"{n}__decode_gpus_busy"] for n in names)
    assert np.allclose(pools, ts["gpus_busy_inference"])                # GPU-hours are both pools' GPUs
    for n in names:
        assert (ts[f"{n}__gpus_idle_held"] <= ts[f"{n}__gpus_busy"] + 1e-9).all()
        assert (ts[f"{n}__kv_link_gpus_sending"] <= ts[f"{n}__prefill_gpus_busy"] + 1e-9).all()
        energy_j = ts[f"{n}__it_power_kw"].sum() * 1e3 * r.scenario.simulation.step_s
        tokens = ts[f"{n}__output_tokens_served_per_s"].sum() * r.scenario.simulation.step_s
        assert k[f"it_j_per_output_token__{n}"] == pytest.approx(energy_j / tokens)
        assert k[f"eur_per_mtok__{n}"] > 0
    colocated = dctwin.simulate(scenario_from_dict(doc))
    assert "it_j_per_output_token__" + names[0] not in colocated.kpis
