"""Disaggregated serving on the one request-level simulator: timing, interference, energy, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import disaggregated_perf
from dctwin.perf.disagg import kv_link
from dctwin.perf.models import get_model
from dctwin.perf.params import load_params, packaged_perf_params
from dctwin.serving import Deployment, simulate_requests
from dctwin.serving.disagg import serving_energy, simulate_disaggregated

H100 = get_platform("hgx-h100")


def test_single_request_is_prefill_then_transfer_then_decode_steps():
    pre, dec = Deployment("hgx-h100", "llama-2-70b", 1, 4), Deployment("hgx-h100", "llama-2-70b", 1, 4)
    r = simulate_disaggregated(pre, dec, [0.0], [1000], [11]).requests.iloc[0]
    kv_b, bw = kv_link(H100, get_model("llama-2-70b"), "fp8", 8, load_params()["inference"])
    t_kv = 1000 * kv_b / (bw * 4)
    assert r.kv_transfer_s == pytest.approx(t_kv)
    assert r.ttft_s == pytest.approx(pre.cost.step_time_s(0, 0, 1000, 1000 ** 2) + t_kv)
    c = dec.cost      # 10 more tokens, each a decode step over the prompt and the tokens so far, no prefill work
    decode = sum(c.step_time_s(1, 1000 + k, 0, 0) for k in range(10))
    assert r.finish_s - r.first_token_s == pytest.approx(decode, rel=1e-9)


def _bursty(n=600, seed=5):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, 60.0, n))
    return t, rng.integers(1500, 4000, n), rng.integers(50, 300, n)


def test_decode_steps_no_longer_wait_behind_prompts():
    """Long prompts stall colocated decoding (TPOT tail); a separate decode pool does not see them."""
    t, inp, out = _bursty()
    colocated = simulate_requests(Deployment("hgx-h100", "llama-2-70b", 4, 4), t, inp, out)
    split = simulate_disaggregated(Deployment("hgx-h100", "llama-2-70b", 2, 4),
                                   Deployment("hgx-h100", "llama-2-70b", 2, 4), t, inp, out)
    assert split.percentile("tpot_s", 99) < 0.5 * colocated.percentile("tpot_s", 99)
    assert np.all(split.requests["finish_s"] >= split.requests["first_token_s"])
    assert np.all(split.requests["ttft_s"] > 0)
    assert split.requests["output_tokens"].sum() == out.sum()


def test_saturated_throughput_matches_the_steady_state_model():
    """A burst far above capacity: the replay's token rate approaches disaggregated_perf's bound."""
    n = 3000
    t, inp, out = np.zeros(n), np.full(n, 1024), np.full(n, 256)
    steady = disaggregated_perf(H100, "llama-2-70b", 4, 4, "fp8", 1024, 256)
    gp, gd = steady.prefill_gpus_per_replica, steady.decode_gpus_per_replica        # its best replica sizes
    r = simulate_disaggregated(Deployment("hgx-h100", "llama-2-70b", 4 // gp, gp),
                               Deployment("hgx-h100", "llama-2-70b", 4 // gd, gd), t, inp, out)
    measured = out.sum() / r.span_s
    assert measured == pytest.approx(steady.tokens_per_s, rel=0.15)


def test_energy_per_token_from_the_it_power_curve():
    t, inp, out = _bursty(200)
    pre, dec = Deployment("hgx-h100", "llama-2-70b", 1, 4), Deployment("hgx-h100", "llama-2-70b", 1, 4)
    r = simulate_disaggregated(pre, dec, t, inp, out)
    idle = serving_energy(pre, 0.0, r.span_s) + serving_energy(dec, 0.0, r.span_s)
    full = serving_energy(pre, 1.0, r.span_s) + serving_energy(dec, 1.0, r.span_s)
    assert idle / out.sum() < r.energy_j_per_token < full / out.sum()
    assert r.tokens_per_s_per_gpu == pytest.approx(out.sum() / r.span_s / 8)


def test_pools_must_match_and_requests_must_fit():
    with pytest.raises(InputError, match="share the model"):
        simulate_disaggregated(Deployment("hgx-h100", "llama-2-70b", 1, 4), Deployment("hgx-h100", "llama-3-70b", 1, 4),
                               [0.0], [10], [10])
    with pytest.raises(InputError):
        simulate_disaggregated(Deployment("hgx-h100", "llama-2-70b", 1, 4), Deployment("hgx-h100", "llama-2-70b", 1, 4),
                               [1.0, 0.0], [10, 10], [10, 10])


def test_fifo_link_serves_one_payload_at_a_time_per_link():
    from dctwin.serving.disagg import fifo_link
    done = fifo_link([0.0, 0.0, 0.5, 0.0], [1.0, 1.0, 1.0, 1.0], [0, 0, 0, 1])
    assert done.tolist() == [1.0, 2.0, 3.0, 1.0]      # link 0 queues three payloads; link 1 is free


def test_link_saturation_raises_ttft_as_an_md1_queue(monkeypatch):
    """A KV link fed by Poisson arrivals of equal prompts (deterministic transfer time S) queues like M/D/1:
    mean wait rho S / (2 (1 - rho)) (Pollaczek-Khinchine). No packaged platform's link comes near saturation
    (a transfer takes at most half a prefill step), so the test slows only the KV link 500-fold: the prefill
    step is then much shorter than S and prompts reach the link almost as they arrive."""
    import dctwin.serving.disagg as disagg

    def slow_link(*args):
        kv_b, bw = kv_link(*args)
        return kv_b, bw / 500.0

    monkeypatch.setattr(disagg, "kv_link", slow_link)
    pre, dec = Deployment("hgx-h100", "llama-2-70b", 1, 4), Deployment("hgx-h100", "llama-2-70b", 2, 4)
    kv_b, bw = slow_link(H100, get_model("llama-2-70b"), "fp8", pre.n_gpus + dec.n_gpus,
                         packaged_perf_params().inference)
    s = 1024 * kv_b / (bw * 4)
    assert pre.cost.step_time_s(0, 0, 1024, 1024 ** 2) < 0.15 * s
    n, rng = 20000, np.random.default_rng(1)
    ttft = []
    for rho in (0.3, 0.8):
        t = np.cumsum(rng.exponential(s / rho, n))
        r = simulate_disaggregated(pre, dec, t, np.full(n, 1024), np.full(n, 2))
        wait = float(r.requests["kv_transfer_s"].mean() - s)
        assert wait == pytest.approx(rho * s / (2 * (1 - rho)), rel=0.1)
        ttft.append(float(r.requests["ttft_s"].mean()))
    assert ttft[1] - ttft[0] == pytest.approx(0.8 * s / 0.4 - 0.3 * s / 1.4, rel=0.1)


def test_prompts_finishing_in_one_step_queue_on_their_replica_link():
    """Prompts prefilled in one step leave their replica at once: the k-th of them waits for k - 1 transfers."""
    pre, dec = Deployment("hgx-h100", "llama-2-70b", 1, 4), Deployment("hgx-h100", "llama-2-70b", 1, 4)
    r = simulate_disaggregated(pre, dec, np.zeros(8), np.full(8, 1024), np.full(8, 4))
    kv_b, bw = kv_link(H100, get_model("llama-2-70b"), "fp8", 8, packaged_perf_params().inference)
    s = 1024 * kv_b / (bw * 4)
    ready = r.prefill.requests["finish_s"].to_numpy()
    groups = [np.sort(r.requests["kv_transfer_s"].to_numpy()[ready == t]) for t in np.unique(ready)]
    assert max(len(g) for g in groups) > 1
    for g in groups:
        assert g == pytest.approx(s * np.arange(1, len(g) + 1))
