"""Inference roofline: MLPerf v4.0 Llama 2 70B within 15%, batch and memory limits, precision, MoE."""

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import calibration_report, get_model, inference_perf
from dctwin.perf.params import load_params

H100 = get_platform("hgx-h100")
H200 = get_platform("hgx-h200")
C = load_params()["inference"]
MLPERF_IN, MLPERF_OUT = C["mlperf_mean_input_tokens"], C["mlperf_mean_output_tokens"]


@pytest.mark.parametrize("platform, published", [(H100, 21805.8), (H200, 27738.3)], ids=["8xH100", "8xH200"])
def test_mlperf_v40_llama2_70b_offline_within_15_percent(platform, published):
    # MLPerf Inference v4.0 closed, NVIDIA, llama2-70b-99.9 Offline tokens/s (mlperf_log_summary.txt)
    r = inference_perf(platform, "llama-2-70b", 8, "fp8", MLPERF_IN, MLPERF_OUT)
    assert r.tokens_per_s == pytest.approx(published, rel=0.15)


def test_mlperf_replica_shapes_match_nvidia_configs():
    # NVIDIA's v4.0 configs: H100 TP2 x 4, H200 TP1 x 8 (the 70B FP8 weights do not leave room on one H100)
    assert inference_perf(H100, "llama-2-70b", 8, "fp8", MLPERF_IN, MLPERF_OUT).gpus_per_replica == 2
    assert inference_perf(H200, "llama-2-70b", 8, "fp8", MLPERF_IN, MLPERF_OUT).gpus_per_replica == 1


@pytest.mark.parametrize("result", [r for r in calibration_report() if r.kind == "inference"], ids=lambda r: r.case)
def test_reference_inference_cases(result):
    assert abs(result.error) <= result.tolerance, (result.case, result.published, result.modelled)


@pytest.mark.parametrize("platform_id", ["hgx-b200", "gb200-nvl72"])
def test_blackwell_per_gpu_several_times_h100(platform_id):
    # dossier §6d: B200 ~11-13k tok/s per GPU (FP4) vs H100 ~2.7k
    p = get_platform(platform_id)
    n = p.gpus_per_unit
    per_gpu = inference_perf(p, "llama-2-70b", n, "fp4", MLPERF_IN, MLPERF_OUT).tokens_per_s / n
    h100 = inference_perf(H100, "llama-2-70b", 8, "fp8", MLPERF_IN, MLPERF_OUT).tokens_per_s / 8
    assert 2.5 <= per_gpu / h100 <= 8


@pytest.mark.parametrize("platform_id", ["hgx-b200", "gb200-nvl72", "gb300-nvl72", "vr-nvl72"])
def test_fp4_beats_fp8_on_blackwell_and_rubin(platform_id):
    p = get_platform(platform_id)
    n = min(p.gpus_per_unit, 8)
    fp8 = inference_perf(p, "llama-3-70b", n, "fp8", 1024, 256).tokens_per_s
    fp4 = inference_perf(p, "llama-3-70b", n, "fp4", 1024, 256).tokens_per_s
    assert fp4 > 1.2 * fp8


def test_fp4_on_h100_is_a_clear_error():
    with pytest.raises(InputError) as err:
        inference_perf(H100, "llama-2-70b", 8, "fp4")
    assert "FP4" in str(err.value) and "fp8" in str(err.value)


def test_throughput_rises_with_batch_until_the_kv_cache_is_full():
    # latency target sweep: a looser TPOT admits a larger batch and more throughput, up to the memory bound
    targets = np.array([0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.5, 2.0])
    runs = [inference_perf(H100, "llama-2-70b", 8, "fp8", 1024, 256, tpot_target_s=t, gpus_per_replica=2)
            for t in targets]
    tput = np.array([r.tokens_per_s for r in runs])
    batch = np.array([r.batch_size for r in runs])
    assert np.all(np.diff(tput) >= -1e-9) and np.all(np.diff(batch) >= 0)
    assert tput[-1] > 2 * tput[0] and batch[-1] > 4 * batch[0]
    assert all(r.tpot_s <= t for r, t in zip(runs, targets, strict=True))
    offline = inference_perf(H100, "llama-2-70b", 8, "fp8", 1024, 256, gpus_per_replica=2)
    assert tput[-1] == pytest.approx(offline.tokens_per_s)
    assert offline.batch_size <= offline.max_batch_memory
    # the KV cache in use never exceeds the HBM left after the weights
    # (hbm_gb is GiB, the reserve decimal GB)
    weights_gb = get_model("llama-2-70b").params_total / 1e9
    free_gb = 2 * (H100.hbm_gb * 2**30 / 1e9 - C["runtime_reserve_gb_per_gpu"]) - weights_gb
    assert offline.kv_cache_gb <= free_gb


def test_longer_prompts_cost_ttft_and_throughput():
    short = inference_perf(H200, "llama-3-70b", 8, "fp8", 512, 256)
    long = inference_perf(H200, "llama-3-70b", 8, "fp8", 8192, 256)
    assert long.tokens_per_s < short.tokens_per_s
    assert long.ttft_s > short.ttft_s
    assert short.requests_per_s == pytest.approx(short.tokens_per_s / 256)


def test_unreachable_latency_target_is_an_input_error():
    with pytest.raises(InputError, match="latency"):
        inference_perf(H100, "llama-2-70b", 8, "fp8", 1024, 256, tpot_target_s=1e-4)


def test_model_that_does_not_fit_is_an_input_error():
    with pytest.raises(InputError, match="does not fit"):
        inference_perf(H100, "llama-3-405b", 2, "fp8")


def test_moe_flops_from_active_memory_from_total_params():
    # Mixtral 8x22B: 141B of weights must fit (not on one H100 at FP8) but decode costs like a 39B model
    with pytest.raises(InputError):
        inference_perf(H100, "mixtral-8x22b", 1, "fp8", 1024, 256)
    moe = inference_perf(H200, "mixtral-8x22b", 8, "fp8", 1024, 256)
    dense = inference_perf(H200, "mistral-large-2", 8, "fp8", 1024, 256)
    assert moe.tokens_per_s > 1.5 * dense.tokens_per_s


def test_h200_memory_gives_more_throughput_than_h100():
    a = inference_perf(H100, "llama-2-70b", 8, "fp8", MLPERF_IN, MLPERF_OUT)
    b = inference_perf(H200, "llama-2-70b", 8, "fp8", MLPERF_IN, MLPERF_OUT)
    assert b.tokens_per_s > a.tokens_per_s and b.max_batch_memory > a.max_batch_memory / a.gpus_per_replica


def test_throughput_at_scale_is_linear_in_replicas_and_nan_when_too_small():
    from dctwin.perf import throughput_at_scale
    t = throughput_at_scale(H200, "llama-2-70b", np.array([1, 8, 64]), "fp8", 1024, 256)
    assert t[1] == pytest.approx(8 * t[0], rel=0.02) and t[2] == pytest.approx(8 * t[1], rel=0.02)
    assert np.isnan(throughput_at_scale(H100, "llama-3-405b", np.array([1]))[0])


def test_ttft_target_is_met_or_refused():
    offline = inference_perf(H200, "llama-3-70b", 8, "fp8", 4096, 256)
    target = 0.5 * offline.ttft_s
    r = inference_perf(H200, "llama-3-70b", 8, "fp8", 4096, 256, ttft_target_s=target)
    assert r.ttft_s <= target and r.tokens_per_s <= offline.tokens_per_s
    with pytest.raises(InputError, match="latency"):
        inference_perf(H200, "llama-3-70b", 8, "fp8", 4096, 256, ttft_target_s=1e-3)
