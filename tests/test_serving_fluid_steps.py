"""Admission limits of the fluid serving model against the request-level replay they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.rng import stream
from dctwin.serving import Deployment, simulate_requests
from dctwin.serving.fluid import token_profile
from dctwin.serving.fluid_steps import full_step_prefill_s, kv_turnover, others_busy, prefill_s
from dctwin.workload.traces import packaged_trace, read_azure_llm_trace


def test_full_step_holds_what_the_replay_packs_from_a_long_queue():
    """The Azure code trace's prompts queued at once on one replica: every admission step but the last is filled
    in order while the next prompt fits the budget; its mean prompt work is the renewal figure (within 5 %),
    well below the 'budget / mean prompt' prompts of mean work the fluid model charged before."""
    d = read_azure_llm_trace(packaged_trace("AzureLLMInferenceTrace_code.csv.gz"))
    inp = d["input_tokens"].to_numpy()
    n = inp.size
    dep = Deployment("hgx-h100", "llama-2-70b", 1, 2)
    r = simulate_requests(dep, np.zeros(n), inp, np.full(n, 2)).requests
    steps = r.groupby("admit_s")["input_tokens"].apply(lambda x: prefill_s(dep.cost, x.to_numpy(float)).sum())
    replay_s = float(steps.iloc[:-1].mean())                      # the last step takes what is left
    prof = token_profile(inp, np.full(n, 2))
    fluid_s = float(full_step_prefill_s(dep.cost, prof.input_shape, np.array([inp.mean()]), 8192.0)[0, 0])
    assert fluid_s == pytest.approx(replay_s, rel=0.05)
    old_s = np.floor(8192 / inp.mean()) * prefill_s(dep.cost, inp.astype(float)).mean()
    assert old_s > 1.15 * replay_s


def test_full_kv_cache_admits_only_as_many_as_finish():
    """One TP1 replica of a 70B model (~39k KV tokens) under a burst: once its KV cache is full it admits per step
    about as many prompts as finish, capacity / E[(prompt + output) x output] (within 10 %)."""
    dep = Deployment("hgx-h100", "llama-2-70b", 1, 1)
    n, x, y = 400, 2000, 20
    r = simulate_requests(dep, np.zeros(n), np.full(n, x), np.full(n, y))
    per_step = n / r.iterations
    turnover = float(kv_turnover(dep.cost, np.array([x]), np.array([y]), np.array([y * y]))[0])
    assert turnover == pytest.approx(per_step, rel=0.10)
    assert turnover < np.floor(8192 / x)            # the KV cache, not the prefill budget, binds here


@pytest.mark.parametrize("n_rep, rate_per_s", [(8, 0.5), (4, 0.3), (8, 0.2)])
def test_idle_first_routing_fills_the_replicas_together(n_rep, rate_per_s):
    """Poisson arrivals, idle replicas first: the share of arrivals that find every replica busy is closer to
    P(requests in flight >= n) than to n independent replicas each busy with 1 - exp(-lam E[stay])."""
    rng = stream(3, "test.serving")
    lam = rate_per_s * n_rep
    t = np.cumsum(rng.exponential(1.0 / lam, int(lam * 1200)))
    req = simulate_requests(Deployment("hgx-h100", "llama-2-70b", n_rep, 2), t, np.full(t.size, 1000),
                            np.full(t.size, 200)).requests
    stay_s = float((req["finish_s"] - req["t_s"]).mean())
    replay = float((req["admit_s"] > req["t_s"]).mean())
    pooled = float(others_busy(n_rep + 1, np.array(lam * stay_s)))     # all n busy: n others of the arrival
    independent = (1.0 - np.exp(-rate_per_s * stay_s)) ** n_rep
    assert abs(pooled - replay) < abs(independent - replay), (replay, pooled, independent)


def test_one_replica_has_no_others():
    assert others_busy(1, np.array([0.0, 5.0])).tolist() == [1.0, 1.0]
