"""Serving step cost vs dctwin.perf, and the request-level simulator's invariants."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import inference_perf
from dctwin.serving import Deployment, simulate_requests


@pytest.mark.parametrize("platform,g,inp,out", [("hgx-h100", 2, 400.0, 294.45), ("hgx-h200", 1, 1024.0, 256.0)])
def test_steady_step_equals_perf_tpot(platform, g, inp, out):
    """At perf's chosen batch, the step with the steady mix of decode and prefill is perf's TPOT."""
    perf = inference_perf(get_platform(platform), "llama-2-70b", g, "fp8", inp, out, gpus_per_replica=g)
    b = perf.batch_size
    cost = Deployment(platform, "llama-2-70b", 1, g).cost
    p_tok = b * inp / out
    t = cost.step_time_s(b, b * (inp + out / 2), p_tok, p_tok * inp)
    assert t == pytest.approx(perf.tpot_s, rel=1e-6)


def test_single_request_timing_is_prefill_then_decode_steps():
    dep = Deployment("hgx-h100", "llama-2-70b", 1, 2)
    c = dep.cost
    r = simulate_requests(dep, [0.0], [1000], [11]).requests.iloc[0]
    first = c.step_time_s(0, 0, 1000, 1000 ** 2)
    assert r.ttft_s == pytest.approx(first)
    decode = sum(c.step_time_s(1, 1001 + k, 0, 0) for k in range(10))
    assert r.finish_s - r.first_token_s == pytest.approx(decode, rel=1e-9)
    assert r.tpot_s == pytest.approx(decode / 10)


def test_every_request_served_in_order_of_time():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 60, 400))
    inp, out = rng.integers(10, 3000, 400), rng.integers(1, 400, 400)
    r = simulate_requests(Deployment("hgx-h100", "llama-2-70b", 2, 2), t, inp, out)
    d = r.requests
    assert d["finish_s"].notna().all()
    assert (d["admit_s"] >= d["t_s"] - 1e-12).all()
    assert (d["first_token_s"] > d["admit_s"]).all()
    assert (d["finish_s"] >= d["first_token_s"]).all()
    assert 0 < r.busy_fraction <= 1 and 0 < r.kv_utilisation < 1


def test_more_replicas_lower_latency():
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 120, 1200))
    inp, out = rng.integers(100, 2000, 1200), rng.integers(20, 300, 1200)
    one = simulate_requests(Deployment("hgx-h100", "llama-2-70b", 1, 2), t, inp, out)
    four = simulate_requests(Deployment("hgx-h100", "llama-2-70b", 4, 2), t, inp, out)
    assert four.percentile("ttft_s", 90) < one.percentile("ttft_s", 90)
    assert four.percentile("tpot_s", 50) < one.percentile("tpot_s", 50)


def test_bad_input():
    dep = Deployment("hgx-h100", "llama-2-70b", 1, 2)
    with pytest.raises(InputError):
        simulate_requests(dep, [1.0, 0.0], [10, 10], [10, 10])
    with pytest.raises(InputError):
        simulate_requests(dep, [0.0], [10_000_000], [10])
    with pytest.raises(InputError):
        Deployment("hgx-h100", "llama-2-70b", 0, 2)
    with pytest.raises(InputError):
        _ = Deployment("hgx-h100", "llama-3-405b", 1, 1).cost    # 405 GB of weights on one 80 GB GPU
    with pytest.raises(InputError):
        _ = Deployment("hgx-h100", "llama-2-70b", 1, 3).cost     # 3 does not divide the 64 heads
