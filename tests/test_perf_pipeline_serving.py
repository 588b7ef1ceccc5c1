"""Pipeline-parallel serving layouts in the one inference roofline (``perf.roofline.step_cost(pp=...)``).

Before: a replica was tensor-parallel only, so MLPerf v5.1's TP1 PP2 (Cisco H100, Llama 2 70B) and TP2/TP4 PP2
(Llama 3.1 405B) engines ran as TP2/TP4/TP8 with a per-layer all-reduce pipeline parallelism does not have, and a
model larger than one GPU could not be served without that all-reduce.
"""

from __future__ import annotations

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import inference_perf
from dctwin.perf.models import get_model
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.roofline import step_cost, usable_bytes_per_gpu
from dctwin.validate.cases import load_cases, run_case

H100, L70 = get_platform("hgx-h100"), get_model("llama-2-70b")


def test_a_pp2_replica_fits_a_model_one_gpu_cannot_hold():
    with pytest.raises(InputError, match="does not fit"):
        step_cost(H100, L70, 1, "bf16")                        # 140 GB of weights on one 80 GiB GPU
    cost = step_cost(H100, L70, 1, "bf16", pp=2)
    c = packaged_perf_params().inference
    free_b = 2 * usable_bytes_per_gpu(H100, c) - L70.params_total * 2.0   # each stage: half the weights and KV
    assert cost.kv_capacity_tokens == int(free_b * c["kv_free_fraction"] // L70.kv_bytes_per_token(2.0))
    perf = inference_perf(H100, L70, 8, "bf16", gpus_per_replica=1, pp=2)
    assert perf.replicas == 4 and perf.pp == 2 and perf.tokens_per_s > 0


def test_pp2_has_no_all_reduce_but_a_stage_send():
    tp2, pp2 = step_cost(H100, L70, 2, "fp8"), step_cost(H100, L70, 1, "fp8", pp=2)
    assert tp2.comm_s_per_token > 0 and tp2.comm_s_per_pass > 0
    assert pp2.comm_s_per_token == 0.0 and pp2.comm_s_per_pass == 0.0
    link_b_s = H100.scale_up_bandwidth_gb_s / 2 * 1e9 * packaged_perf_params().inference["link_efficiency"]
    assert pp2.send_s_per_token == pytest.approx(L70.hidden_size * 2 / link_b_s)   # one 16-bit hidden state
    assert pp2.send_s_per_pass > 0
    # at MLPerf's Offline shape the H100 serves more tokens/s as TP1 PP2 than as TP2 (Cisco's engine choice)
    kw = dict(input_tokens=400, output_tokens=293)
    assert (inference_perf(H100, L70, 16, "fp8", gpus_per_replica=1, pp=2, **kw).tokens_per_s
            > inference_perf(H100, L70, 16, "fp8", gpus_per_replica=2, **kw).tokens_per_s)


def test_a_pp_step_is_the_stages_in_turn_on_one_micro_batch_plus_the_sends():
    one, pp2 = step_cost(H100, L70, 1, "fp8"), step_cost(H100, L70, 1, "fp8", pp=2)
    n, ctx, p = 600.0, 600.0 * 546.0, 820.0
    sends = pp2.send_s_per_token * (n + p) / 2 + pp2.send_s_per_pass
    assert pp2.step_time_s(n, ctx, p, p * 400) == pytest.approx(one.step_time_s(n / 2, ctx / 2, p / 2, p * 200) + sends)
    # fewer sequences than stages: one micro-batch walks through both stages, no pipelining gain
    assert pp2.step_time_s(1, 500, 0, 0) == pytest.approx(one.step_time_s(1, 500, 0, 0) + pp2.send_s_per_pass
                                                          + pp2.send_s_per_token)


def test_pp1_is_the_tensor_parallel_replica_unchanged():
    for g in (1, 2, 8):
        assert step_cost(H100, L70, g, "fp8", pp=1) == step_cost(H100, L70, g, "fp8")
    assert (inference_perf(H100, L70, 16, "fp8", pp=1, gpus_per_replica=2)
            == inference_perf(H100, L70, 16, "fp8", gpus_per_replica=2))
    assert inference_perf(H100, L70, 16, "fp8").pp == 1


@pytest.mark.parametrize("pp,problem", [(0, "pp"), (81, "pp"), (10, "pp"), (True, "pp"), (2.0, "pp")])
def test_a_pipeline_depth_the_replica_cannot_run_is_refused(pp, problem):
    with pytest.raises(InputError) as e:   # 80 layers; 8 GPUs per NVLink domain: 10 stages straddle two
        step_cost(H100, L70, 1, "fp8", pp=pp)
    assert e.value.field == problem
    with pytest.raises(InputError) as e:
        inference_perf(H100, L70, 16, "fp8", gpus_per_replica=1, pp=pp)
    assert e.value.field == problem


def test_pp_without_a_tensor_parallel_size_or_not_dividing_the_gpus_is_refused():
    for kw in (dict(pp=2), dict(pp=2, gpus_per_replica=4, n_gpus=12)):
        n = kw.pop("n_gpus", 16)
        with pytest.raises(InputError) as e:
            inference_perf(H100, L70, n, "fp8", **kw)
        assert e.value.field == "pp"


def test_a_validate_case_with_a_bad_pp_is_an_input_error(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("- {id: x, title: t, source: {title: a, url: 'https://x'}, role: check, unit: u, published: 1, "
                 "tolerance_rel: 0.1, measure: inference_offline_tokens_per_s, params: {platform: hgx-h100, "
                 "model: llama-2-70b, n_gpus: 16, precision: fp8, gpus_per_replica: 1, pp: 3}}\n", encoding="utf-8")
    with pytest.raises(InputError, match="pp"):
        run_case(load_cases(p)[0])
