"""Host time of eager execution and CUDA graphs (dctwin.perf.host) in the training step."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import Layout, TrainingJob, evaluate_layout, get_model, training_perf
from dctwin.perf.host import host_micro_batch_s, host_ops_per_layer
from dctwin.perf.params import load_params

H100, B200 = get_platform("hgx-h100"), get_platform("hgx-b200")
C = load_params()["training"]
LORA = TrainingJob(get_model("llama-2-70b"), "lora", "fp8", 8 * 8192, 8192)


def test_each_part_of_the_stack_adds_its_operations():
    """Tensor parallelism, FP8, LoRA and each context-parallel ring step add host operations; backward issues
    host_ops_bwd_per_fwd times the forward's; recomputation issues the forward again."""
    plain = TrainingJob(get_model("llama-2-70b"), "pretrain", "bf16", 8 * 8192, 8192)
    one = Layout(tp=1, pp=1, dp=1)
    f0, b0 = host_ops_per_layer(plain, one, C)
    assert f0 == C["host_ops_layer_fwd"] and b0 == C["host_ops_bwd_per_fwd"] * f0
    f_tp, _ = host_ops_per_layer(plain, Layout(tp=4, pp=1, dp=1), C)
    f_fp8, _ = host_ops_per_layer(dataclasses.replace(plain, precision="fp8"), one, C)
    f_lora, _ = host_ops_per_layer(dataclasses.replace(plain, mode="lora"), one, C)
    f_cp2, _ = host_ops_per_layer(plain, Layout(tp=1, pp=1, dp=1, cp=2), C)
    f_cp4, _ = host_ops_per_layer(plain, Layout(tp=1, pp=1, dp=1, cp=4), C)
    assert f_tp - f0 == C["host_ops_tp_fwd"] and f_fp8 - f0 == C["host_ops_fp8_fwd"]
    assert f_lora - f0 == C["host_ops_lora_fwd"]
    assert f_cp4 - f_cp2 == 2 * C["host_ops_cp_step_fwd"] and f_cp2 > f0
    f_r, b_r = host_ops_per_layer(plain, Layout(tp=1, pp=1, dp=1, recompute="full"), C)
    assert f_r == f0 and b_r == b0 + f0


def test_cuda_graphs_issue_one_launch_per_layer_and_pass():
    lay = Layout(tp=4, pp=1, dp=8, cp=2, cuda_graphs=True)
    assert host_ops_per_layer(LORA, lay, C) == (1.0, 1.0)
    assert host_ops_per_layer(LORA, dataclasses.replace(lay, recompute="full"), C) == (1.0, 2.0)
    eager = host_micro_batch_s(LORA, dataclasses.replace(lay, cuda_graphs=False), 80, C)
    assert host_micro_batch_s(LORA, lay, 80, C) * 50 < eager


def test_small_layer_work_is_host_bound_in_eager_and_not_with_graphs():
    """Short sequences on many tensor-parallel GPUs: a layer's GPU work is shorter than issuing it, so the eager
    step is the host's time; CUDA graphs make it the GPU's (shorter)."""
    job = TrainingJob(get_model("llama-3-70b"), "pretrain", "fp8", 8 * 512, 512)
    lay = Layout(tp=8, pp=1, dp=8)
    eager = evaluate_layout(H100, job, lay, C)
    graphs = evaluate_layout(H100, job, dataclasses.replace(lay, cuda_graphs=True), C)
    m = job.batch_seqs // lay.dp
    assert eager.step_time_s >= m * host_micro_batch_s(job, lay, job.model.layers, C) == eager.host_s
    assert graphs.host_s < eager.host_s
    assert graphs.step_time_s < eager.step_time_s
    assert graphs.layout.label().endswith(", CUDA graphs") and not eager.layout.label().endswith("graphs")


def test_large_layer_work_is_not_changed_by_graphs():
    """NVIDIA's 8x H100 LoRA layout: 4 micro-batches of 8,192 tokens per step; the GPU sets the pace either way."""
    lay = Layout(tp=4, pp=1, dp=2)
    a = evaluate_layout(H100, LORA, lay, C).step_time_s
    b = evaluate_layout(H100, LORA, dataclasses.replace(lay, cuda_graphs=True), C).step_time_s
    assert a == b


def test_mlperf_v40_64_gpu_lora_step_stays_gpu_bound_at_the_published_upper_host_cost():
    """The finding behind the LoRA strong-scaling known gap: at 25 us per operation (the top of the published
    range) the eager host time of a TP4 CP2 LoRA layer is below its GPU time, so host launch overhead as sourced
    does not slow the 64-GPU step (see the case's known_gap text)."""
    job = dataclasses.replace(LORA, attention_precision="bf16")
    lay = Layout(tp=4, pp=1, dp=8, cp=2)
    eager = evaluate_layout(H100, job, lay, C).step_time_s
    graphs = evaluate_layout(H100, job, dataclasses.replace(lay, cuda_graphs=True), C).step_time_s
    assert eager == graphs
    assert host_micro_batch_s(job, lay, 80, C) < eager
    assert 0 < evaluate_layout(H100, job, lay, C).host_s < eager


@settings(max_examples=40, deadline=None)
@given(model=st.sampled_from(["llama-3-70b", "llama-2-70b", "mixtral-8x7b"]), platform=st.sampled_from([H100, B200]),
       mode=st.sampled_from(["pretrain", "lora"]), seq=st.sampled_from([1024, 4096, 8192]),
       n=st.sampled_from([8, 16, 64]))
def test_cuda_graphs_never_slow_a_job(model, platform, mode, seq, n):
    kw = dict(global_batch_tokens=64 * seq, seq_tokens=seq, mode=mode)
    try:
        eager = training_perf(platform, model, n, "fp8", **kw)
    except InputError:
        return                                       # does not fit on this count
    graphs = training_perf(platform, model, n, "fp8", cuda_graphs=True, **kw)
    assert graphs.step_time_s <= eager.step_time_s * (1 + 1e-12)
    assert graphs.layout.cuda_graphs and not eager.layout.cuda_graphs
