"""A new user's questions to the performance model (rv, session 8): layouts that cannot exist are refused, a KV
head copied over tensor-parallel ranks is charged for every copy, and bad numbers are refused by name."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import disaggregated_perf, get_model, inference_perf, step_cost, training_perf
from dctwin.perf.hardware import hbm_bytes_per_gpu
from dctwin.perf.models import kv_head_replicas, load_models, tensor_parallel_problem
from dctwin.perf.params import packaged_perf_params

H100, B200, GB200 = (get_platform(p) for p in ("hgx-h100", "hgx-b200", "gb200-nvl72"))


# --- tensor parallelism splits heads, KV heads and the MLP evenly -------------------------------------------

@pytest.mark.parametrize(("model", "tp", "allowed"), [
    ("mixtral-8x22b", 3, "a divisor or a multiple of its 8 KV heads"),     # 48 heads, 8 KV heads
    ("mistral-large-2", 6, "a divisor or a multiple of its 8 KV heads"),   # 96 heads, 8 KV heads
])
def test_serving_refuses_a_tensor_parallel_size_the_kv_heads_cannot_take(model, tp, allowed):
    with pytest.raises(InputError, match="cannot be split over") as err:
        step_cost(GB200, get_model(model), tp, "bf16")
    assert err.value.field == "gpus_per_replica" and err.value.allowed == allowed
    with pytest.raises(InputError) as err:           # named as the argument the user gave, before any search
        inference_perf(GB200, model, 72, "bf16", gpus_per_replica=tp)
    assert err.value.field == "gpus_per_replica" and err.value.allowed == allowed


def test_the_automatic_replica_is_one_an_engine_can_run():
    # was TP3 (B200, GB200, BF16) and TP3/TP6 (H100): 8 KV heads over 3 or 6 GPUs exist in no engine
    for platform, precision in ((B200, "bf16"), (GB200, "bf16"), (H100, "fp8"), (H100, "bf16")):
        g = inference_perf(platform, "mixtral-8x22b", 24, precision).gpus_per_replica
        assert tensor_parallel_problem(get_model("mixtral-8x22b"), g, training=False) is None, (platform.id, g)


@pytest.mark.parametrize(("model", "tp", "allowed"), [
    ("mistral-large-2", 3, "a divisor of its 8 KV heads"),        # Megatron splits the query groups evenly
    ("llama-3-70b", 16, "a divisor of its 8 KV heads"),
    ("llama-2-13b", 5, "a divisor of its MLP width 13824"),       # 40 heads split, the 13,824-wide MLP does not
])
def test_training_refuses_a_tensor_parallel_size_megatron_cannot_split(model, tp, allowed):
    n = tp * 8
    with pytest.raises(InputError) as err:
        training_perf(GB200, model, n, "bf16", tp=tp, pp=1, dp=8)
    assert err.value.field == "tp" and err.value.allowed == allowed


@settings(max_examples=25, deadline=None)
@given(model=st.sampled_from(["mistral-large-2", "llama-2-13b", "mixtral-8x22b", "gpt-3-175b"]),
       n=st.sampled_from([24, 48, 72, 120, 144]), mode=st.sampled_from(["pretrain", "lora"]))
def test_the_training_search_picks_only_layouts_megatron_can_build(model, n, mode):
    try:
        r = training_perf(GB200, model, n, "bf16", mode=mode)
    except InputError:
        return
    assert tensor_parallel_problem(get_model(model), r.tp, training=True) is None, r.layout.label()


# --- every copy of a K/V head fills HBM ----------------------------------------------------------------------

def test_kv_heads_copied_over_tensor_parallel_ranks_are_each_charged():
    m = get_model("llama-3-70b")                               # 8 KV heads
    per_token_b = m.kv_bytes_per_token(1.0)                    # FP8 cache, one copy: 80 x 2,048 B
    assert [kv_head_replicas(m, g) for g in (1, 2, 8, 16, 32)] == [1, 1, 1, 2, 4]
    c = packaged_perf_params().inference
    for g, copies in ((8, 1), (16, 2)):
        cost = step_cost(GB200, m, g, "fp8")
        assert cost.kv_bytes_per_token == pytest.approx(per_token_b * copies)
        free_b = g * (hbm_bytes_per_gpu(GB200) - c["runtime_reserve_gb_per_gpu"] * 1e9) - m.params_total
        assert cost.kv_capacity_tokens == int(free_b * c["kv_free_fraction"] // (per_token_b * copies))


def test_a_latent_kv_cache_is_held_whole_by_every_tensor_parallel_rank():
    m = get_model("mistral-large-3")                           # MLA: one 576-value latent per token and layer
    assert m.latent_kv and not get_model("llama-3-70b").latent_kv
    one_copy_b = m.kv_bytes_per_token(1.0)                     # 61 x 576 B
    tp4, tp8 = step_cost(B200, m, 4, "fp8"), step_cost(B200, m, 8, "fp8")
    assert tp4.kv_bytes_per_token == pytest.approx(4 * one_copy_b)
    assert tp8.kv_bytes_per_token == pytest.approx(8 * one_copy_b)
    # decode reads every copy: attention over a cached token costs its copies' bytes at the replica's HBM rate
    assert tp8.attn_s_per_ctx_token >= 8 * one_copy_b / (8 * B200.hbm_bandwidth_tb_s * 1e12)
    r = inference_perf(B200, m, 8, "fp8", gpus_per_replica=4)    # the cache in use counts its copies too
    assert r.kv_cache_gb == pytest.approx(r.batch_size * tp4.kv_bytes_per_token * (1024 + 256 / 2) / 1e9)


@settings(max_examples=30, deadline=None)
@given(model=st.sampled_from(sorted(load_models())), g=st.sampled_from([1, 2, 4, 8, 16, 32, 64, 72]),
       precision=st.sampled_from(["fp8", "bf16"]))
def test_the_kv_cache_never_exceeds_what_the_replica_holds(model, g, precision):
    m = get_model(model)
    try:
        cost = step_cost(GB200, m, g, precision)
    except InputError:
        return
    c = packaged_perf_params().inference
    per_value_b = 2.0 if precision == "bf16" else c["kv_bytes_per_value"]
    assert cost.kv_bytes_per_token >= m.kv_bytes_per_token(per_value_b) * max(1, g // m.kv_heads) * (1 - 1e-12)
    usable_b = g * (hbm_bytes_per_gpu(GB200) - c["runtime_reserve_gb_per_gpu"] * 1e9)
    weights_b = m.params_total * (2.0 if precision == "bf16" else 1.0)
    assert cost.kv_capacity_tokens * cost.kv_bytes_per_token + weights_b <= usable_b


# --- bad numbers are refused by name, never a traceback or a silent truncation --------------------------------

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"n_gpus": NAN}, "n_gpus"), ({"n_gpus": 8.7}, "n_gpus"), ({"n_gpus": 0}, "n_gpus"),
    ({"global_batch_tokens": NAN}, "global_batch_tokens"), ({"global_batch_tokens": INF}, "global_batch_tokens"),
    ({"global_batch_tokens": "4e6"}, "global_batch_tokens"),
    ({"seq_tokens": 0}, "seq_tokens"), ({"seq_tokens": -4096}, "seq_tokens"), ({"seq_tokens": 4096.7}, "seq_tokens"),
    ({"mode": "lora", "lora_rank": 0}, "lora_rank"), ({"mode": "lora", "lora_rank": -8}, "lora_rank"),
    ({"tp": 2.5, "pp": 1, "dp": 4}, "tp"), ({"tp": "2", "pp": 1, "dp": 4}, "tp"), ({"micro_batch": 1.5}, "micro_batch"),
])
def test_training_refuses_numbers_it_cannot_use(kwargs, field):
    args = {"n_gpus": 8, **kwargs}
    with pytest.raises(InputError) as err:
        training_perf(H100, "llama-2-7b", args.pop("n_gpus"), **args)
    assert err.value.field == field


def test_a_whole_number_written_as_a_float_is_that_number():
    assert training_perf(H100, "llama-2-7b", 8.0, seq_tokens=4096.0).gpus_used == 8
    assert inference_perf(H100, "llama-2-7b", 8.0, gpus_per_replica=2.0).replicas == 4


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"n_gpus": 8.5}, "n_gpus"), ({"input_tokens": NAN}, "input_tokens"), ({"output_tokens": INF}, "output_tokens"),
    ({"gpus_per_replica": 0}, "gpus_per_replica"), ({"gpus_per_replica": -1}, "gpus_per_replica"),
    ({"gpus_per_replica": 16}, "gpus_per_replica"), ({"gpus_per_replica": 3}, "gpus_per_replica"),
    ({"tpot_target_s": NAN}, "tpot_target_s"), ({"ttft_target_s": -1.0}, "ttft_target_s"),
])
def test_serving_refuses_numbers_it_cannot_use(kwargs, field):
    args = {"n_gpus": 8, **kwargs}
    with pytest.raises(InputError) as err:
        inference_perf(H100, "llama-2-7b", args.pop("n_gpus"), **args)
    assert err.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"prefill_gpus": 2.5}, "prefill_gpus"), ({"decode_gpus": NAN}, "decode_gpus"),
    ({"input_tokens": 0}, "input_tokens"), ({"output_tokens": 0}, "output_tokens"),
    ({"output_tokens": -5}, "output_tokens"), ({"input_tokens": NAN}, "input_tokens"),
    ({"input_tokens": 100_000}, "input_tokens+output_tokens"), ({"tpot_target_s": NAN}, "tpot_target_s"),
])
def test_disaggregated_serving_refuses_what_colocated_serving_refuses(kwargs, field):
    # was: ZeroDivisionError at 0 tokens, a negative throughput at -5, a 100k-token prompt on a 4k-context model
    args = {"prefill_gpus": 8, "decode_gpus": 8, **kwargs}
    with pytest.raises(InputError) as err:
        disaggregated_perf(H100, "llama-2-7b", args.pop("prefill_gpus"), args.pop("decode_gpus"), **args)
    assert err.value.field == field


@settings(max_examples=40, deadline=None)
@given(n=st.one_of(st.integers(-2, 40), st.floats(allow_nan=True, allow_infinity=True, width=32)),
       tokens=st.one_of(st.integers(-2, 5000), st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_any_number_gives_a_finite_answer_or_an_input_error(n, tokens):
    for call in (lambda: inference_perf(H100, "llama-2-7b", n, input_tokens=tokens, output_tokens=128),
                 lambda: disaggregated_perf(H100, "llama-2-7b", n, 8, input_tokens=tokens, output_tokens=128),
                 lambda: training_perf(H100, "llama-2-7b", n, global_batch_tokens=tokens * 4096)):
        try:
            r = call()
        except InputError:
            continue
        assert all(math.isfinite(v) and v >= 0 for v in vars(r).values() if isinstance(v, float))


def test_a_huge_gpu_count_is_answered_at_once():
    # the divisor search went through every integer up to n_gpus: 10^9 GPUs took hours of CPU, 10^12 never ended
    import time
    t0 = time.process_time()
    with pytest.raises(InputError, match="matches the batch"):
        training_perf(GB200, "llama-3-405b", 10**12)
    assert training_perf(GB200, "llama-3-405b", 10**9 + 7, global_batch_tokens=2**40).gpus_used < 10**9 + 7
    assert time.process_time() - t0 < 5.0


# --- an answer resting on dctwin's own estimates says so ------------------------------------------------------

def test_a_rubin_answer_names_the_estimated_peaks_it_rests_on():
    vr = get_platform("vr-nvl72")
    train = training_perf(vr, "llama-3-70b", 72, "bf16").estimated_inputs
    assert any(line.startswith("vr-nvl72 bf16_dense_tflops = 8350: derived by dctwin (half of FP8 dense")
               for line in train), train
    serve = inference_perf(vr, "llama-2-70b", 8, "fp8").estimated_inputs   # FP8 GEMMs and FP8 attention
    assert any(line.startswith("vr-nvl72 fp8_dense_tflops = 16700") for line in serve)
    assert not any("bf16_dense_tflops" in line for line in serve)          # a peak it did not read is not listed
    # H100's peaks are published: only its derived NIC rate is named
    h100 = training_perf(H100, "llama-3-70b", 64, "fp8").estimated_inputs
    assert h100 and all("scale_out_bandwidth_gb_s" in line for line in h100)


def test_an_assumed_model_says_so_and_a_published_one_does_not():
    medium = disaggregated_perf(B200, "mistral-medium-3", 8, 8).estimated_inputs
    assert any(line.startswith("mistral-medium-3 ") and "assumed by dctwin" in line for line in medium)
    assert not any("llama-2-70b" in line for line in inference_perf(B200, "llama-2-70b", 8).estimated_inputs)


@pytest.mark.parametrize("platform_id", ["hgx-h100", "hgx-h200", "hgx-b200", "gb200-nvl72", "gb300-nvl72", "vr-nvl72",
                                         "rubin-ultra-nvl576"])
def test_every_named_input_is_one_the_catalog_marks_derived(platform_id):
    p = get_platform(platform_id)
    precision = "fp4" if p.fp4_dense_tflops else "fp8"
    for line in inference_perf(p, "llama-2-70b", 8, precision).estimated_inputs:
        name = line.split(" ")[1]
        assert p.sources[name].startswith("dctwin derivation or engineering estimate"), line


def test_candidate_replica_sizes_are_ones_an_engine_can_run():
    from dctwin.perf import replica_sizes
    assert replica_sizes(GB200, 72, get_model("mixtral-8x22b")) == [1, 2, 4, 8]       # 48 heads, 8 KV heads
    assert replica_sizes(GB200, 72, get_model("llama-3-70b")) == [1, 2, 4, 8]         # 72 = 9 x 8: TP9 etc. refused
    # the refusal names the largest replica it could build (2 of 6 H100s), not one of 6 no engine runs
    with pytest.raises(InputError, match="a replica of 2 GPUs has 164 GB usable"):
        inference_perf(H100, "llama-3-405b", 6, "bf16")


@pytest.mark.parametrize(("model", "n", "layout", "batch_seqs", "reason"), [
    ("llama-2-13b", 32, {"tp": 2, "pp": 16, "dp": 1}, None, "2 model chunks per stage (40 layers on 16 stages admit 1"),
    ("llama-2-7b", 8, {"tp": 1, "pp": 8, "dp": 1}, 4, "micro-batches per step (4) to be a multiple of the stages (8)"),
])
def test_a_fixed_schedule_that_cannot_run_says_why(model, n, layout, batch_seqs, reason):
    # was only 'allowed: a batch divisible by the data-parallel size', with dp = 1
    batch = None if batch_seqs is None else batch_seqs * 4096
    with pytest.raises(InputError, match=re.escape(reason)) as err:
        training_perf(H100, model, n, global_batch_tokens=batch, schedule="interleaved", **layout)
    assert err.value.field == "layout" and err.value.allowed.endswith("or another schedule")
