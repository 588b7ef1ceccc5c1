"""Training step from its parts (issue 15): HBM bandwidth, memory, LoRA, schedules, collectives, strong scaling."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import Layout, TrainingJob, evaluate_layout, get_model, model_flops_per_token, training_perf
from dctwin.perf.collectives import Link, all_reduce_s, reduce_scatter_s
from dctwin.perf.params import load_params
from dctwin.perf.schedule import bubble_s
from dctwin.perf.search import memory_budget_gb

H100, H200, B200 = (get_platform(x) for x in ("hgx-h100", "hgx-h200", "hgx-b200"))
C = load_params()["training"]
LORA = TrainingJob(get_model("llama-2-70b"), "lora", "fp8", 8 * 8192, 8192)
MLPERF_H100_LAYOUT = Layout(tp=4, pp=1, dp=2)          # NVIDIA's MLPerf Training v4.0 layout on 8x H100


def test_h200_faster_than_h100_where_memory_bandwidth_binds():
    """Same FLOP/s, same layout: the H200's 4.8 TB/s (vs 3.35) shortens the memory-bound kernels."""
    assert H200.fp8_dense_tflops == H100.fp8_dense_tflops
    h100 = evaluate_layout(H100, LORA, MLPERF_H100_LAYOUT, C)
    h200 = evaluate_layout(H200, LORA, MLPERF_H100_LAYOUT, C)
    assert h200.step_time_s < h100.step_time_s
    assert h100.hbm_bound_s > 0.05 * h100.step_time_s          # memory-bound work is a visible share
    # the whole gain comes from bandwidth: give the H200 the H100's bandwidth and it is no faster
    slow = dataclasses.replace(H200, hbm_bandwidth_tb_s=H100.hbm_bandwidth_tb_s)
    assert evaluate_layout(slow, LORA, MLPERF_H100_LAYOUT, C).step_time_s == pytest.approx(h100.step_time_s)


def test_b200_speed_up_is_not_the_peak_ratio():
    """B200/H100 comes from compute, HBM, NVLink and layout together, not from peak FLOP/s alone."""
    peak_ratio = B200.fp8_dense_tflops / H100.fp8_dense_tflops
    t = {p.id: training_perf(p, LORA.model, 8, "fp8", global_batch_tokens=8 * 8192, seq_tokens=8192,
                             mode="lora").tokens_per_s for p in (H100, B200)}
    ratio = t["hgx-b200"] / t["hgx-h100"]
    assert 1.5 < ratio and abs(ratio - peak_ratio) > 0.05


def test_lora_70b_fits_one_server_full_finetune_does_not():
    r = training_perf(H100, "llama-2-70b", 8, "fp8", global_batch_tokens=8 * 8192, seq_tokens=8192, mode="lora")
    assert r.memory_per_gpu_gb <= memory_budget_gb(H100, C)
    assert r.gpus_used == 8
    with pytest.raises(InputError, match=r"needs \d+ GB per GPU.*GPUs or more"):
        training_perf(H100, "llama-2-70b", 8, "fp8", global_batch_tokens=8 * 8192, seq_tokens=8192,
                      mode="full-finetune")


def test_forced_layout_that_does_not_fit_is_refused_with_figure_and_alternative():
    with pytest.raises(InputError) as e:
        training_perf(H100, "llama-3-70b", 64, "bf16", tp=1, pp=1, dp=64)
    msg = str(e.value)
    assert "GB per GPU" in msg and "automatic layout: TP" in msg


def test_lora_flops_and_memory_are_lower_than_full_training():
    model = get_model("llama-2-70b")
    assert model_flops_per_token(model, 4096, "lora")[0] == pytest.approx(4 / 6 * model_flops_per_token(model, 4096)[0])
    full = dataclasses.replace(LORA, mode="full-finetune")
    lay = Layout(tp=8, pp=4, dp=1)
    assert evaluate_layout(H100, LORA, lay, C).memory.total_gb < evaluate_layout(H100, full, lay, C).memory.total_gb


def test_recompute_trades_memory_for_time():
    job = TrainingJob(get_model("llama-3-70b"), "pretrain", "bf16", 1024 * 8192, 8192)
    keep = evaluate_layout(H100, job, Layout(tp=8, pp=4, dp=2), C)
    redo = evaluate_layout(H100, job, Layout(tp=8, pp=4, dp=2, recompute="full"), C)
    assert redo.memory.activations_gb < keep.memory.activations_gb / 5
    assert redo.step_time_s > 1.2 * keep.step_time_s


def test_schedules_order_their_bubbles():
    f, b, w = 1.0, 1.0, 1.0
    one = bubble_s("1f1b", 8, 1, f, b, w)
    assert bubble_s("interleaved", 8, 4, f, b, w) == pytest.approx(one / 4)
    assert bubble_s("zero-bubble", 8, 1, f, b, w) == pytest.approx(one / 3)     # ZB-H1, Qi et al.
    assert bubble_s("zero-bubble", 8, 1, f, b, 0.0) == pytest.approx(bubble_s("1f1b", 8, 1, f, b, 0.0))
    assert bubble_s("1f1b", 1, 1, f, b, w) == 0.0


def test_collectives_latency_bound_small_bandwidth_bound_large():
    link = Link(100e9, 1e-5)
    small, large = all_reduce_s(1e3, 8, link), all_reduce_s(1e9, 8, link)
    assert small == pytest.approx(2 * 7 * 1e-5 + 2 * 1e3 / 100e9, rel=0.01)      # ring: 2 (n-1) latency steps
    assert large == pytest.approx(2 * 7 / 8 * 1e9 / 100e9, rel=0.01)


def test_collectives_hierarchical_ring_and_tree_latency():
    """NCCL's step counts: ring 2(n-1) steps, 2(k-1) of them between k nodes; tree logarithmic in k."""
    alpha_nvl, alpha_net, launch = 3.4e-6, 14e-6, 8.4e-6
    one_node = Link(1e20, alpha_nvl, alpha_net, launch, nodes=1)
    assert all_reduce_s(8.0, 8, one_node) == pytest.approx(launch + 14 * alpha_nvl, rel=1e-6)
    two_nodes = Link(1e20, alpha_nvl, alpha_net, launch, nodes=2)
    # 16 ranks on 2 nodes, tiny message: ring 30 steps (2 across) loses to the tree's 2 (7 intra + 1 inter)
    assert all_reduce_s(8.0, 16, two_nodes) == pytest.approx(launch + 2 * (7 * alpha_nvl + alpha_net), rel=1e-6)
    wire = Link(50e9, alpha_nvl, alpha_net, launch, nodes=2)    # a large message: the ring's bus traffic wins
    ring_1gb = 2 * 15 / 16 * 1e9 / 50e9 + launch + 28 * alpha_nvl + 2 * alpha_net
    assert all_reduce_s(1e9, 16, wire) == pytest.approx(ring_1gb, rel=1e-6)
    many = Link(1e20, alpha_nvl, alpha_net, launch, nodes=1024)
    ring = launch + 2 * 1023 * alpha_net
    tree = launch + 2 * 10 * alpha_net
    assert all_reduce_s(8.0, 1024, many) == pytest.approx(min(ring, tree), rel=1e-6)
    assert reduce_scatter_s(8.0, 16, two_nodes) == pytest.approx(launch + 14 * alpha_nvl + 1 * alpha_net, rel=1e-6)
    # latency grows with the ranks: never faster on more ranks of the same link
    times = [all_reduce_s(1e6, n, two_nodes) for n in (2, 4, 8, 16)]
    assert times == sorted(times)


def test_fp8_attention_shortens_only_attention_and_more_so_at_long_sequences():
    """FP8 dot-product attention: same FLOPs, attention time divided by the fitted speed-up, so the end-to-end gain
    grows with the sequence (attention's share of the step grows with s); no more memory (Q, K, V and the output are
    kept in FP8, the LoRA output adapter keeps its own 16-bit input)."""
    fp8 = dataclasses.replace(LORA, attention_precision="fp8")
    a, b = evaluate_layout(H100, LORA, MLPERF_H100_LAYOUT, C), evaluate_layout(H100, fp8, MLPERF_H100_LAYOUT, C)
    assert b.step_time_s < a.step_time_s
    assert b.memory_per_gpu_gb < a.memory_per_gpu_gb and b.tflops_per_gpu > a.tflops_per_gpu
    gains = []
    for seq in (2048, 8192, 32768):
        job = TrainingJob(get_model("llama-2-70b"), "lora", "fp8", 8 * 32768, seq)
        lay = Layout(tp=8, pp=1, dp=1, cuda_graphs=True)  # graphs: the GPU, not the host, sets the pace at 2k
        t16 = evaluate_layout(H100, job, lay, C).step_time_s
        t8 = evaluate_layout(H100, dataclasses.replace(job, attention_precision="fp8"), lay, C).step_time_s
        gains.append(t16 / t8)
    assert 1.0 < gains[0] < gains[1] < gains[2] < C["attention_fp8_speedup"]


def test_fp8_attention_needs_fp8_training_and_a_known_precision():
    kw = dict(global_batch_tokens=65536, seq_tokens=8192, mode="lora", tp=4, pp=1, dp=2)
    with pytest.raises(InputError, match="FP8 attention"):
        training_perf(H100, "llama-2-70b", 8, "bf16", attention_precision="fp8", **kw)
    with pytest.raises(InputError, match="attention precision"):
        training_perf(H100, "llama-2-70b", 8, "fp8", attention_precision="fp16", **kw)
    assert training_perf(H100, "llama-2-70b", 8, "fp8", **kw).step_time_s == pytest.approx(
        training_perf(H100, "llama-2-70b", 8, "fp8", attention_precision="bf16", **kw).step_time_s)


def test_report_of_layout_is_readable():
    r = training_perf(H100, "llama-3-70b", 64, "fp8", global_batch_tokens=1048576, seq_tokens=8192)
    assert r.layout.label().startswith("TP") and r.layout.gpus == 64


SIZES = [8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024]


@settings(max_examples=40, deadline=None, database=None)
@given(model=st.sampled_from(["llama-3-70b", "gpt-3-175b", "mixtral-8x22b", "llama-2-70b"]),
       platform=st.sampled_from([H100, H200, B200]), mode=st.sampled_from(["pretrain", "lora"]),
       pair=st.lists(st.sampled_from(SIZES), min_size=2, max_size=2, unique=True))
def test_more_gpus_never_slow_a_job_at_fixed_batch(model, platform, mode, pair):
    small, large = sorted(pair)
    kw = dict(global_batch_tokens=256 * 4096, seq_tokens=4096, mode=mode)
    try:
        t_small = training_perf(platform, model, small, "bf16", **kw).step_time_s
    except InputError:
        return                                       # does not fit on the smaller count
    t_large = training_perf(platform, model, large, "bf16", **kw).step_time_s
    assert t_large <= t_small * (1 + 1e-9)
