"""Training model: published TFLOP/s per GPU, MFU falling with scale, parallelism, precision errors."""

import time

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import calibration_report, mfu_at_scale, training_perf
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.search import memory_budget_gb

H100 = get_platform("hgx-h100")
TRAINING_CASES = [r for r in calibration_report() if r.kind == "training"]


@pytest.mark.parametrize("result", TRAINING_CASES, ids=lambda r: r.case)
def test_published_tflops_per_gpu(result):
    # the calibration points (NeMo 24.12 FP8, Llama 3 405B BF16 at 8,192 GPUs): tolerance 15%; checks: dctwin validate
    assert abs(result.error) <= result.tolerance, (result.case, result.published, result.modelled)


def test_llama3_405b_mfu_in_published_band_at_16k_gpus():
    # Llama 3 paper / dossier §6a: 38-43% BF16 MFU on 16,384 H100
    r = training_perf(H100, "llama-3-405b", 16384, "bf16", global_batch_tokens=16 * 2**20, tp=8, pp=16, dp=128)
    assert 0.38 <= r.mfu <= 0.43
    assert r.tflops_per_gpu == pytest.approx(r.mfu * 989, rel=1e-9)


def test_mfu_falls_with_scale():
    sizes = np.array([512, 1024, 2048, 4096, 8192, 16384, 32768])
    for model in ("llama-3-405b", "gpt-3-175b", "llama-3-70b"):
        mfu = mfu_at_scale(H100, model, sizes)
        assert np.all(np.isfinite(mfu))
        assert np.all(np.diff(mfu) <= 1e-12), (model, mfu)
        assert mfu[-1] < mfu[0] - 0.03, (model, mfu)


def test_step_time_and_throughput_are_consistent():
    r = training_perf(H100, "llama-3-70b", 1024, "bf16")
    assert r.layout.gpus == r.gpus_used == 1024
    assert r.tokens_per_s * r.step_time_s == pytest.approx(r.global_batch_tokens)
    assert 0 < r.mfu < 1 and r.memory_per_gpu_gb <= 80


def test_automatic_parallelism_respects_nvlink_domain_and_memory():
    r = training_perf(H100, "llama-3-405b", 2048, "bf16")
    assert r.tp <= H100.scale_up_domain_gpus and r.pp > 1
    assert r.memory_per_gpu_gb <= memory_budget_gb(H100, packaged_perf_params().training) < 85.5  # nvidia-smi: 85.5e9 B
    nvl = get_platform("gb200-nvl72")
    assert training_perf(nvl, "llama-3-405b", 2304, "bf16").tp <= 8


def test_model_too_big_for_the_gpus():
    with pytest.raises(InputError, match="n_gpus"):
        training_perf(H100, "llama-3-405b", 8, "bf16")
    assert np.isnan(mfu_at_scale(H100, "llama-3-405b", np.array([8]))[0])


def test_fp4_on_hopper_is_a_clear_error():
    with pytest.raises(InputError) as err:
        training_perf(H100, "llama-3-70b", 64, "fp4")
    assert "FP4" in str(err.value) and "fp8" in str(err.value)
    with pytest.raises(InputError, match="precision"):
        training_perf(H100, "llama-3-70b", 64, "int3")


@pytest.mark.parametrize("platform_id", ["hgx-b200", "gb200-nvl72", "gb300-nvl72", "vr-nvl72"])
def test_lower_precision_trains_faster_on_blackwell_and_rubin(platform_id):
    p = get_platform(platform_id)
    n = 8 * p.scale_up_domain_gpus if p.scale_up_domain_gpus <= 8 else p.scale_up_domain_gpus * 4
    t = {prec: training_perf(p, "llama-3-70b", n, prec).tokens_per_s for prec in ("bf16", "fp8", "fp4")}
    assert t["fp4"] > t["fp8"] > t["bf16"]


def test_bad_parallelism_is_rejected():
    with pytest.raises(InputError, match="tp"):
        training_perf(H100, "llama-3-70b", 64, "bf16", tp=8, pp=4, dp=4)
    with pytest.raises(InputError, match="tp"):
        training_perf(H100, "llama-3-70b", 64, "bf16", tp=8)


def test_moe_counts_active_parameters_for_flops():
    r = training_perf(H100, "mixtral-8x22b", 256, "bf16")
    dense = training_perf(H100, "mistral-large-2", 256, "bf16", global_batch_tokens=4e6, seq_tokens=8192)
    # 39B active vs 123B dense: several times the tokens per second
    assert r.tokens_per_s > 2 * dense.tokens_per_s


def test_mfu_at_scale_is_cheap_and_keeps_shape():
    sizes = np.array([[512, 1024], [2048, 4096]])
    mfu_at_scale(H100, "gpt-3-175b", sizes)
    start = time.perf_counter()
    for _ in range(100):
        out = mfu_at_scale(H100, "gpt-3-175b", sizes)
    assert out.shape == (2, 2)
    assert time.perf_counter() - start < 0.5
