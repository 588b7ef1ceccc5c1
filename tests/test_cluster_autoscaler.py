"""The inference autoscaler: tolerance band and scale-down window, and what they spare training."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dctwin.cluster.inference import Autoscaler, autoscaler_defaults, held_replicas, replicas_needed
from dctwin.cluster.stage import _autoscaler
from dctwin.config.cluster import SchedulerConfig
from dctwin.errors import InputError
from test_cluster_helpers import run_small


def _rule(load, want, edges: int, tol: float) -> list[int]:
    """The rule written out: keep the held replicas inside the tolerance band, else recommend ``want``; grow at
    once; shrink to the highest recommendation of the last ``edges`` edges (a scan of the whole list)."""
    held, recs, out = 0, [], []
    for x, w in zip(load, want, strict=True):
        rec = held if held and abs(x / held - 1.0) <= tol else int(w)
        recs.append(rec)
        held = rec if rec >= held else max(recs[-edges:])
        out.append(held)
    return out


@pytest.mark.parametrize("seed", range(30))
def test_held_replicas_follow_the_rule(seed):
    rng = random.Random(seed)
    n = rng.choice([1, 7, 300])
    step_s = rng.choice([1, 60, 900])
    auto = Autoscaler(step_s, rng.choice([0, 30, 60, 300, 301, 3600]), rng.choice([0.0, 0.05, 0.1]), 1.0)
    base = rng.uniform(0.5, 200)
    load = np.array([base * rng.uniform(0.7, 1.3) * (1 + 0.5 * np.sin(k / 40)) for k in range(n)])
    want = replicas_needed(load, 1.0, 1.0, min_replicas=1)
    got = held_replicas(load, want, auto)
    assert got.tolist() == _rule(load.tolist(), want.tolist(), auto.window_edges, auto.tolerance)
    # the service is never held below its load by more than the band: replicas run at most (1 + tol) x target
    assert np.all((got >= want) | (np.abs(load / got - 1) <= auto.tolerance + 1e-12))


def test_without_band_and_window_held_is_the_need():
    load = np.array([3.2, 9.9, 1.0, 4.5, 4.6, 0.2, 7.0])
    want = replicas_needed(load, 1.0, 1.0)
    assert held_replicas(load, want, Autoscaler(60, 0, 0.0, 15)).tolist() == want.tolist()
    assert held_replicas(load, want, Autoscaler(900, 300, 0.0, 15)).tolist() == want.tolist()   # window < a step


def test_scale_down_waits_for_the_window_and_small_changes_are_ignored():
    # one spike to 20 replicas, then 10: held for the 5 edges less than 300 s after it (60-s steps), then 10
    load = np.array([10.0, 20.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    want = replicas_needed(load, 1.0, 1.0)
    assert held_replicas(load, want, Autoscaler(60, 300, 0.0, 15)).tolist() == [10, 20, 20, 20, 20, 20, 10, 10]
    # a load moving inside +-10 % keeps the replicas; past it they follow at once
    load = np.array([10.0, 10.9, 9.2, 10.5, 11.2, 11.2, 9.0])
    want = replicas_needed(load, 1.0, 1.0)
    assert held_replicas(load, want, Autoscaler(60, 0, 0.1, 15)).tolist() == [10, 10, 10, 10, 12, 12, 9]


@pytest.mark.parametrize("step_s", [1, 2, 4, 6])
def test_at_steps_under_the_sync_period_one_decision_a_period_on_its_mean_load(step_s):
    """1-s to 6-s steps: the held replicas change only at the first step of a 15-s period and equal the rule
    applied to the periods' mean loads, decision by decision."""
    rng = np.random.default_rng(step_s)
    n = 4_007                                                       # not a whole number of periods
    load = 50.0 * (1 + 0.3 * np.sin(np.arange(n) * step_s / 3_000)) * (1 + rng.uniform(-0.2, 0.2, n))
    want = replicas_needed(load, 1.0, 1.0)
    auto = Autoscaler(step_s, 300, 0.1, 15)
    got = held_replicas(load, want, auto)
    period = (np.arange(n) * step_s) // 15
    first = np.r_[True, period[1:] != period[:-1]]
    assert np.all(got[~first] == got[np.flatnonzero(~first) - 1])    # no change inside a period
    means = np.array([load[period == p].mean() for p in np.unique(period)])
    rule = _rule(means.tolist(), np.maximum(np.ceil(means - 1e-9), 1).tolist(), 20, 0.1)
    assert got[first].tolist() == rule


def test_a_need_jittering_inside_the_band_preempts_no_training():
    """A full cluster of training jobs and an inference load that jitters by up to 8 % around 10 GPUs every
    step: the autoscaler keeps 10 GPUs and no job is stopped; following every jitter preempts jobs."""
    rng = np.random.default_rng(3)
    n_steps = 48
    load = 10.0 * (1 + rng.uniform(-0.08, 0.08, n_steps))
    want = replicas_needed(load, 1.0, 1.0)
    held = held_replicas(load, want, Autoscaler(900, 300, 0.1, 15))
    assert held.min() == held.max()
    rows = [{"submit_s": 0.0, "gpus": 1, "duration_s": 86_400.0} for _ in range(64)]
    calm = run_small(rows, 64, n_steps=n_steps, inference=held, policy="easy_backfill")
    jumpy = run_small(rows, 64, n_steps=n_steps, inference=want, policy="easy_backfill")
    assert calm.stats["preemptions"] == 0
    assert jumpy.stats["preemptions"] > 0
    assert calm.stats["useful_gpu_s"] > jumpy.stats["useful_gpu_s"]


def test_defaults_come_from_the_data_file_and_the_scenario_overrides_them():
    d = autoscaler_defaults()
    assert _autoscaler(SchedulerConfig(), 60) == Autoscaler(60.0, d["scale_down_window_s"], d["tolerance"],
                                                            d["sync_period_s"])
    own = _autoscaler(SchedulerConfig(inference_scale_down_window_s=0, inference_scale_tolerance=0.0,
                                      inference_scale_sync_s=30), 60)
    assert own == Autoscaler(60.0, 0.0, 0.0, 30.0)


@pytest.mark.parametrize("field, bad", [("inference_scale_down_window_s", -1), ("inference_scale_down_window_s", 3601),
                                        ("inference_scale_tolerance", 0.3), ("inference_scale_tolerance", -0.1),
                                        ("inference_scale_sync_s", 0)])
def test_bad_autoscaler_fields_are_refused(field, bad):
    from dctwin.config.load import scenario_from_dict
    from dctwin.errors import ScenarioError

    with pytest.raises(ScenarioError, match=field):
        scenario_from_dict({"extends": "borlange-2027", "scheduler": {field: bad}}, source="test")


def test_a_data_file_value_outside_its_range_is_refused(tmp_path):
    from dctwin.cluster import inference

    text = inference._AUTOSCALER_FILE.read_text().replace("value: 300", "value: 7200")
    path = tmp_path / "auto.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match="range"):
        autoscaler_defaults(path)


def test_gpus_held_above_the_need_serve_the_demand_and_count_as_granted():
    """After a drop the window keeps the earlier replicas: the grant is every held GPU, each service's share adds
    up to it, and the demand is served in full; half the grant serves less."""
    import pandas as pd

    from dctwin.catalog import get_platform
    from dctwin.cluster.inference import inference_gpus_needed, served_tokens
    from dctwin.config import load_scenario
    from dctwin.workload import services

    svcs = services(load_scenario().workload)
    out = np.array([4.0e6, 1.0e6])
    demand = pd.DataFrame({c: out * (1.0 if i % 2 else 0.5) for i, c in enumerate(
        f"{s}__{k}_tokens_per_s" for s in svcs.index for k in ("input", "output"))})
    need = inference_gpus_needed(demand, svcs, get_platform("vr-nvl72"), autoscaler=Autoscaler(60, 300, 0.0, 15))
    held, needed = need["gpus_held"].to_numpy(), need["gpus_needed"].to_numpy()
    assert held[1] == held[0] > needed[1]
    served = served_tokens(demand, svcs, need, held.astype(float))
    busy = sum(served[f"{s}__gpus_busy"] for s in svcs.index).to_numpy()
    assert busy == pytest.approx(held)
    for s in svcs.index:
        want = demand[f"{s}__output_tokens_per_s"].to_numpy()
        assert served[f"{s}__output_tokens_served_per_s"].to_numpy() == pytest.approx(want)
    half = served_tokens(demand, svcs, need, held / 2.0)
    s0 = svcs.index[0]
    assert half[f"{s0}__output_tokens_served_per_s"].iloc[0] < served[f"{s0}__output_tokens_served_per_s"].iloc[0]
