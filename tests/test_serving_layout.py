"""Serving layouts a scenario can set (``workload.inference[].layout``) and the automatic choice over TP x PP.

Before: a service's replica was tensor-parallel only, sized by ``inference_perf`` on one NVLink domain with the
TP size chosen automatically; ``pp`` reached neither the scenario nor the automatic choice, and a model whose
weights one domain cannot hold (Llama 3 405B in BF16 on 8 x H100) could not be served at all.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from dctwin.catalog import get_platform
from dctwin.cluster.inference import check_service_units, inference_gpus_needed, service_layouts
from dctwin.config.workload import WorkloadConfig
from dctwin.errors import InputError
from dctwin.perf import inference_perf
from dctwin.perf.models import get_model
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.roofline import step_cost, usable_bytes_per_gpu
from dctwin.perf.serving_layout import ServingLayout, candidate_layouts, replica_perf, serving_layout_perf
from dctwin.serving import Deployment, simulate_requests
from dctwin.workload import services

H100, L405 = get_platform("hgx-h100"), get_model("llama-3-405b")
P = packaged_perf_params()
SHAPE = (1024.0, 256.0, 2.0, 0.1)      # input, output tokens; TTFT, TPOT targets [s]


def test_405b_bf16_does_not_fit_one_h100_server_and_runs_as_tp8_pp2_across_two():
    with pytest.raises(InputError) as e:
        serving_layout_perf(H100, L405, "bf16", *SHAPE, layout=ServingLayout(8, 1))
    msg = str(e.value)   # the memory figure and what would fit
    assert "weights 810 GB" in msg and "655 GB usable" in msg and "TP8 PP2 (16 GPUs per replica)" in msg
    lay, perf = serving_layout_perf(H100, L405, "bf16", *SHAPE)
    assert lay == ServingLayout(8, 2) and perf.pp == 2 and perf.tpot_s <= 0.1 and perf.tokens_per_s > 0


def test_the_send_between_two_servers_is_charged_on_the_scale_out_nic():
    c = P.inference
    across = step_cost(H100, L405, 8, "bf16", pp=2)               # 16 GPUs: the one send crosses servers
    nic_b_s = H100.scale_out_bandwidth_gb_s / 2 * 1e9 * c["link_efficiency"]
    assert across.send_s_per_token == pytest.approx(L405.hidden_size * 2 / nic_b_s)
    assert across.send_s_per_pass == pytest.approx(c["latency_scale_out_s"])
    inside = step_cost(H100, L405, 4, "fp8", pp=2)                # 8 GPUs: NVLink
    assert inside.send_s_per_token < across.send_s_per_token / 8  # 900 vs 100 GB/s both ways
    # 4 stages on 2 servers (TP4 PP4): one of the three sends crosses, the mean of the three is charged
    l70 = get_model("llama-2-70b")
    mixed = step_cost(H100, l70, 4, "fp8", pp=4)
    nvl_b_s = H100.scale_up_bandwidth_gb_s / 2 * 1e9 * c["link_efficiency"]
    want = (2 * l70.hidden_size * 2 / nvl_b_s + l70.hidden_size * 2 / nic_b_s) / 3
    assert mixed.send_s_per_token == pytest.approx(want)
    free = dataclasses.replace(mixed, send_s_per_token=0.0)
    assert mixed.step_time_s(64, 64 * 1500, 0, 0) > free.step_time_s(64, 64 * 1500, 0, 0)


@pytest.mark.parametrize("platform,model,precision,shape", [
    ("hgx-h100", "llama-3-405b", "bf16", SHAPE),
    ("hgx-h100", "mistral-large-2", "fp8", (1024.0, 256.0, 0.45, 0.04)),
    ("hgx-h100", "llama-3-70b", "fp8", (1024.0, 256.0, None, None)),
    ("hgx-h200", "mixtral-8x22b", "fp8", (2048.0, 512.0, 1.0, 0.05)),
    ("gb200-nvl72", "llama-3-405b", "fp8", (1024.0, 256.0, 0.45, 0.04)),
])
def test_auto_is_the_best_of_an_explicit_enumeration(platform, model, precision, shape):
    plat, m = get_platform(platform), get_model(model)
    lay, perf = serving_layout_perf(plat, m, precision, *shape)
    rates = {}
    for cand in candidate_layouts(plat, m, precision):
        try:
            rates[cand] = replica_perf(plat, m, cand, precision, *shape, P).tokens_per_s / cand.gpus
        except InputError:
            continue
    best = max(rates.values())
    mine = perf.tokens_per_s / lay.gpus
    assert mine == rates[lay]
    # the best, or a smaller replica within one sequence of its batch (the batch search's resolution)
    assert mine == best or mine * (1 + 1 / perf.batch_size) >= best
    assert all(r < mine * (1 + 1 / perf.batch_size) for r in rates.values())
    # never slower per GPU than the tensor-parallel-only choice on one domain it replaces
    if plat.scale_up_domain_gpus * 82e9 > m.params_total * 2:
        old = inference_perf(plat, m, plat.scale_up_domain_gpus, precision, *shape)
        assert mine * (1 + 1 / perf.batch_size) >= old.tokens_per_s / old.replicas / old.gpus_per_replica


def test_pp_is_searched_only_where_it_is_needed_beyond_one_domain():
    # a model one server holds: every candidate inside the server; 405B in BF16: up to two servers
    assert max(c.gpus for c in candidate_layouts(H100, get_model("llama-3-70b"), "fp8")) == 8
    big = candidate_layouts(H100, L405, "bf16")
    assert max(c.gpus for c in big) == 16 and all(8 % c.gpus == 0 or c.gpus % 8 == 0 for c in big)
    assert any(c.pp > 1 for c in candidate_layouts(H100, get_model("llama-3-70b"), "fp8"))


def _workload(**svc) -> WorkloadConfig:
    base = {"model": "mistral-large-2", "peak_requests_per_s": 5.0}
    base.update(svc)
    return WorkloadConfig.model_validate({"inference": [base]})


def test_the_layout_field_round_trips_and_sizes_the_service():
    wl = _workload(layout={"tp": 4, "pp": 2})
    again = WorkloadConfig.model_validate(wl.model_dump(mode="json"))
    assert again.inference[0].layout.tp == 4 and again.inference[0].layout.pp == 2
    assert _workload().inference[0].layout == "auto"
    svcs = services(wl)
    demand = pd.DataFrame({"mistral-large-2__output_tokens_per_s": np.array([0.0, 20_000.0, 90_000.0])})
    need = inference_gpus_needed(demand, svcs, H100)
    row = svcs.loc["mistral-large-2"]
    per = replica_perf(H100, get_model("mistral-large-2"), ServingLayout(4, 2), "fp8", row["mean_input_tokens"],
                       row["mean_output_tokens"], 0.45, 0.04, P).tokens_per_s
    want = np.maximum(np.ceil(demand.iloc[:, 0].to_numpy() / (per * 0.8) - 1e-9), 1) * 8
    assert need["mistral-large-2__gpus"].tolist() == want.tolist()
    assert service_layouts(svcs, H100) == {"mistral-large-2": "TP4 PP2 (8 GPUs per replica)"}


def test_a_replica_larger_than_its_pool_is_refused():
    svcs = services(_workload(layout={"tp": 8, "pp": 8}))
    check_service_units(svcs, H100, pool_gpus=64)
    with pytest.raises(InputError, match="does not fit the 32 GPUs of the hgx-h100 pool") as e:
        check_service_units(svcs, H100, pool_gpus=32)
    assert e.value.field == "workload.inference[mistral-large-2].layout"


def test_a_layout_with_disaggregated_serving_is_refused():
    with pytest.raises(ValidationError, match="remove layout or disaggregated"):
        _workload(layout={"tp": 4}, disaggregated={"prefill_gpus": 4, "decode_gpus": 4})


def test_a_layout_missing_the_targets_is_refused_with_what_to_change():
    svcs = services(_workload(layout={"tp": 2, "pp": 4}, tpot_ms=10.0))
    with pytest.raises(InputError) as e:
        inference_gpus_needed(pd.DataFrame({"mistral-large-2__output_tokens_per_s": [1.0]}), svcs, H100)
    assert e.value.field == "workload.inference[mistral-large-2].ttft_ms/tpot_ms"
    assert "TP2 PP4" in e.value.problem and "layout 'auto'" in e.value.allowed


@pytest.mark.parametrize("layout,field,text", [
    ("{tp: 0}", "workload.inference[0].layout.tp", "greater than or equal to 1"),
    ("{tp: 4, pp: x}", "workload.inference[0].layout.pp", "valid integer"),
    ("fastest", "workload.inference[0].layout", "'auto'"),
    ("{tp: 4, pp: 2, dp: 2}", "workload.inference[0].layout.dp", "unknown field"),
    ("{tp: 5}", "workload.inference[mistral-large-2].layout.tp", "divide the attention heads"),
    ("{tp: 3}", "workload.inference[mistral-large-2].layout.tp", "a divisor or a multiple of its 8 KV heads"),
    ("{tp: 8, pp: 89}", "workload.inference[mistral-large-2].layout.pp", "1 to 88 (the layers)"),
    ("{tp: 1}", "workload.inference[mistral-large-2].layout", "TP2 PP1 (2 GPUs per replica) is the smallest"),
])
def test_scenario_validate_refuses_a_bad_layout_with_exit_2(tmp_path, layout, field, text):
    sc = tmp_path / "s.yaml"
    sc.write_text("extends: air-cooled-hgx-tampa\nsimulation: {duration_days: 1}\nworkload:\n  inference:\n"
                  f"  - model: mistral-large-2\n    peak_requests_per_s: 100\n    layout: {layout}\n")
    r = subprocess.run([sys.executable, "-m", "dctwin", "scenario", "validate", str(sc)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and f"field '{field}'" in r.stderr and text in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_deployment_carries_pp_into_the_request_level_model():
    dep = Deployment("hgx-h100", "llama-3-405b", 1, 8, "bf16", pp=2)
    assert dep.n_gpus == 16 and dep.replica_gpus == 16 and "TP8 PP2" in dep.label()
    assert dep.cost == step_cost(H100, L405, 8, "bf16", pp=2)
    with pytest.raises(InputError, match="does not fit"):
        _ = Deployment("hgx-h100", "llama-3-405b", 1, 8, "bf16").cost
    r = simulate_requests(dep, [0.0], [1000], [11]).requests.iloc[0]
    c = dep.cost
    assert r.ttft_s == pytest.approx(c.step_time_s(0, 0, 1000, 1000 ** 2))
    decode = sum(c.step_time_s(1, 1001 + k, 0, 0) for k in range(10))
    assert r.finish_s - r.first_token_s == pytest.approx(decode, rel=1e-9)
    for n in (1, 2, 7):   # the closed form the request-level model sums is step_time_s, micro-batches and sends
        a, b = c.decode_step_coeffs(n)
        assert a + b * 5000.0 == pytest.approx(c.step_time_s(n, 5000.0, 0, 0), rel=1e-12)
    many = simulate_requests(dep, np.linspace(0, 5, 40), np.full(40, 800), np.full(40, 50)).requests
    assert (many["finish_s"] > many["first_token_s"]).all() and len(many) == 40
    with pytest.raises(InputError, match="pp"):
        Deployment("hgx-h100", "llama-3-405b", 1, 8, "bf16", pp=0)


def test_fluid_capacity_and_request_level_step_share_one_pipeline_roofline():
    """At the batch inference_perf chose for a TP8 PP2 replica, the Deployment's step of that mix is its TPOT."""
    inp, out = 1024.0, 256.0
    lay, perf = serving_layout_perf(H100, L405, "bf16", inp, out, 2.0, 0.1)
    dep = Deployment("hgx-h100", "llama-3-405b", 1, lay.tp, "bf16", pp=lay.pp)
    b = perf.batch_size
    p_tok = b * inp / out
    assert dep.cost.step_time_s(b, b * (inp + out / 2), p_tok, p_tok * inp) == pytest.approx(perf.tpot_s, rel=1e-12)


def test_a_scenario_runs_a_replica_across_two_servers_and_names_it(tmp_path):
    from dctwin.config.load import load_scenario, scenario_from_dict
    from dctwin.orchestrator import simulate

    d = load_scenario("air-cooled-hgx-tampa").model_dump(mode="json")
    d["simulation"]["duration_days"] = 1
    d["workload"]["inference"] = [{"model": "llama-3-405b", "peak_requests_per_s": 20.0,
                                   "layout": {"tp": 8, "pp": 2}}]
    r = simulate(scenario_from_dict(d, source="t"))
    assert r.kpis["serving_layout__llama-3-405b"] == "TP8 PP2 (16 GPUs per replica) on hgx-h100"
    busy = r.tables["timeseries"]["llama-3-405b__gpus_busy"].to_numpy()
    assert busy.max() >= 16 and r.kpis["inference_served_frac__llama-3-405b"] > 0.99
    d["workload"]["inference"][0]["layout"] = "auto"   # FP8 weights (405 GB) fit one server: auto stays inside it
    auto = simulate(scenario_from_dict(d, source="t"))
    assert auto.kpis["serving_layout__llama-3-405b"].endswith("on hgx-h100")
    assert "16 GPUs" not in auto.kpis["serving_layout__llama-3-405b"]


def test_uneven_stages_serve_a_61_layer_model_over_two_servers():
    """Mistral Large 3 (675 GB at FP8, 61 layers) does not fit one H100 server; two stages of 31 and 30 layers do."""
    ml3 = get_model("mistral-large-3")
    lay, perf = serving_layout_perf(H100, ml3, "fp8", 1024.0, 256.0, 0.45, 0.04)
    assert lay == ServingLayout(8, 2) and perf.tpot_s <= 0.04
    cost, c = step_cost(H100, ml3, 8, "fp8", pp=2), P.inference
    share = 31 / 61                                          # the deeper stage bounds weights and KV
    free_b = (8 * usable_bytes_per_gpu(H100, c) - ml3.params_total * share) / share
    # the latent KV cache is held whole by each of the 8 tensor-parallel ranks (perf.models.kv_head_replicas)
    assert cost.kv_capacity_tokens == int(free_b * c["kv_free_fraction"] // (8 * ml3.kv_bytes_per_token(1.0)))
    assert cost.stage_imbalance == pytest.approx(62 / 61)
    # two micro-batches: the deeper stage works through both, 62/61 of the two stages' sum on one
    even = dataclasses.replace(cost, stage_imbalance=1.0)
    sends = cost.send_s_per_token * 32 + cost.send_s_per_pass
    assert cost.step_time_s(64, 64 * 900, 0, 0) == pytest.approx((even.step_time_s(64, 64 * 900, 0, 0) - sends)
                                                                 * 62 / 61 + sends)
    assert step_cost(H100, get_model("llama-2-70b"), 2, "fp8", pp=4).stage_imbalance == 1.0


@pytest.mark.parametrize("platform,model", [("hgx-h100", "mistral-large-2"), ("vr-nvl72", "mixtral-8x22b"),
                                            ("hgx-h100", "mistral-large-3")])
def test_the_pruning_bound_is_above_every_layouts_rate(platform, model):
    from dctwin.perf.inference import replica_tokens_per_s_bound

    plat, m = get_platform(platform), get_model(model)
    for lay in candidate_layouts(plat, m, "fp8"):
        bound = replica_tokens_per_s_bound(plat, m, lay.tp, "fp8", 1024.0, 256.0, P, lay.pp)
        for targets in ((None, None), (0.45, 0.04), (2.0, 0.2)):
            try:
                got = replica_perf(plat, m, lay, "fp8", 1024.0, 256.0, *targets, P).tokens_per_s
            except InputError:
                continue
            assert got <= bound * (1 + 1e-12)
