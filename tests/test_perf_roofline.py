"""The shared inference roofline (issue 15 item 5): MoE expert reads, disaggregated prefill and decode."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import disaggregated_perf, get_model, inference_perf, step_cost
from dctwin.perf.roofline import expert_params
from dctwin.serving import Deployment

H100, H200 = get_platform("hgx-h100"), get_platform("hgx-h200")


def test_moe_small_batch_reads_only_the_routed_experts():
    mix = get_model("mixtral-8x7b")
    cost = step_cost(H100, mix, 2, "fp8")
    one = cost.weights_read_s(1)
    # one token: shared part + 2 of 8 experts per layer
    shared = cost.weights_s - cost.expert_weights_s
    assert one == pytest.approx(shared + cost.expert_weights_s * 2 / 8)
    assert cost.weights_read_s(10_000) == pytest.approx(cost.weights_s)
    assert np.all(np.diff(cost.weights_read_s(np.arange(1, 64))) > 0)      # more tokens touch more experts
    assert expert_params(mix) == pytest.approx((46.7e9 - 12.9e9) * 8 / 6)


def test_moe_decode_step_time_grows_with_batch_until_every_expert_is_read():
    """Memory-bound decode of Mixtral on 8 H100: each added sequence touches more experts until all 8 are read
    (1 - (1 - 2/8)^n of them per layer), then the step grows only by the per-token work."""
    cost = step_cost(H100, get_model("mixtral-8x7b"), 8, "fp8")
    n = np.arange(1, 33)
    step = cost.step_time_s(n, n * 500, 0, 0)
    expert_read = cost.weights_read_s(n) - (cost.weights_s - cost.expert_weights_s)
    assert np.all(np.diff(expert_read) > 0) and expert_read[-1] == pytest.approx(cost.expert_weights_s, rel=1e-3)
    assert expert_read[0] == pytest.approx(cost.expert_weights_s / 4)
    assert (step[1] - step[0]) > 10 * (step[-1] - step[-2])          # first tokens add experts; late ones add little


def test_elementwise_traffic_makes_h200_faster_when_the_gemms_are_compute_bound():
    """An 8,192-token prefill of Mixtral 8x7B on one GPU is compute-bound in its GEMMs (same FP8 peak on H100
    and H200), yet the H200 steps faster: the elementwise activation traffic between GEMMs streams through
    HBM, 4.8 vs 3.35 TB/s. The difference is exactly that traffic at the two bandwidths."""
    model = get_model("mixtral-8x7b")
    a, b = step_cost(H100, model, 1, "fp8"), step_cost(H200, model, 1, "fp8")
    p = 8192
    assert p * a.prefill_s_per_token > a.weights_s                     # compute-bound GEMMs
    t_a, t_b = a.step_time_s(0, 0, p, p * p), b.step_time_s(0, 0, p, p * p)
    assert t_b < t_a
    assert t_a - t_b == pytest.approx(p * (a.elementwise_s_per_token - b.elementwise_s_per_token), rel=1e-9)
    assert a.elementwise_s_per_token / b.elementwise_s_per_token == pytest.approx(4.8 / 3.35)


def test_dense_model_reads_all_weights_at_any_batch():
    cost = step_cost(H100, get_model("llama-2-70b"), 2, "fp8")
    assert cost.weights_read_s(1) == cost.weights_read_s(512) == cost.weights_s


def test_steady_state_and_serving_use_one_step_function():
    """inference_perf's TPOT is the Deployment's step cost at the same batch (one implementation)."""
    r = inference_perf(H100, "mixtral-8x7b", 2, "fp8", input_tokens=512, output_tokens=128, gpus_per_replica=2)
    cost = Deployment("hgx-h100", "mixtral-8x7b", 1, 2, "fp8").cost
    b = r.batch_size
    assert r.tpot_s == pytest.approx(cost.step_time_s(b, b * (512 + 64), b * 4, b * 4 * 512))


def test_disaggregated_decode_steps_carry_no_prefill():
    colo = inference_perf(H100, "llama-2-70b", 8, "fp8", 1024, 256)
    dis = disaggregated_perf(H100, "llama-2-70b", 4, 4, "fp8", 1024, 256)
    cost = step_cost(H100, get_model("llama-2-70b"), dis.decode_gpus_per_replica, "fp8")
    b = dis.decode_batch
    assert dis.tpot_s == pytest.approx(cost.step_time_s(b, b * 1152, 0, 0))
    assert dis.tpot_s < colo.tpot_s
    assert dis.ttft_s > dis.kv_transfer_s > 0


def test_disaggregated_throughput_follows_its_bottleneck():
    few = disaggregated_perf(H100, "llama-2-70b", 1, 7, "fp8", 2048, 128)
    more = disaggregated_perf(H100, "llama-2-70b", 4, 4, "fp8", 2048, 128)
    assert few.bound == "prefill" and more.tokens_per_s > few.tokens_per_s
    with pytest.raises(InputError):
        disaggregated_perf(H100, "llama-3-405b", 1, 1, "bf16", 1024, 256)


def test_mlperf_server_tpot_is_the_step_fixed_point_and_grows_with_load_and_prompt():
    """The Server measure's step decodes the Little's-law batch and prefills the prompts arriving during
    itself: a fixed point of the roofline, longer at a higher load or with longer prompts."""
    from dctwin.validate.measures import mlperf_server_tpot_s
    run = dict(platform="hgx-h100", model="llama-2-70b", gpus_per_replica=2, replicas=4, precision="fp8",
               samples_per_s=74.42, mean_latency_s=44.95, output_tokens=290.0)
    t = mlperf_server_tpot_s(**run, input_tokens=400)
    cost = step_cost(H100, get_model("llama-2-70b"), 2, "fp8")
    batch, pre = 74.42 / 4 * 44.95, 74.42 / 4 * 400 * t
    assert t == pytest.approx(cost.step_time_s(batch, batch * (400 + 145), pre, pre * 400), rel=1e-6)
    assert mlperf_server_tpot_s(**run, input_tokens=600) > t
    assert mlperf_server_tpot_s(**{**run, "samples_per_s": 90.0}, input_tokens=400) > t
