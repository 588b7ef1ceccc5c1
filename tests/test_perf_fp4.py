"""Precision per operation in the inference roofline (FP4 serving on Blackwell, issue #15).

Under TensorRT-LLM's FP4 (NVFP4) recipe only the weight GEMMs run at FP4;
attention runs at FP8, and every GEMM input is quantized to NVFP4 first. The
expected values below come from the platforms' peaks and NVFP4's definition
(4-bit values plus one 8-bit scale per 16 values), not from the model.
"""

from __future__ import annotations

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf.hardware import serving_rates
from dctwin.perf.models import get_model
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.roofline import step_cost
from dctwin.serving.deployment import Deployment

B200 = get_platform("hgx-b200")
LLAMA = get_model("llama-2-70b")
NVFP4_BYTES_PER_VALUE = 4 / 8 + 8 / 8 / 16   # 4-bit element + one FP8 (E4M3) scale per 16-value block


def _peak_ratio(a: str, b: str) -> float:
    return B200.peak_tflops(a) / B200.peak_tflops(b)


def test_fp4_gemms_run_at_the_fp4_peak_and_attention_at_fp8():
    fp4, fp8 = step_cost(B200, LLAMA, 1, "fp4"), step_cost(B200, LLAMA, 1, "fp8")
    gemm = _peak_ratio("fp4", "fp8") * packaged_perf_params().inference["fp4_gemm_efficiency_vs_fp8"]
    assert fp8.prefill_s_per_token / fp4.prefill_s_per_token == pytest.approx(gemm)
    assert fp8.gemm_s_per_seq / fp4.gemm_s_per_seq == pytest.approx(gemm)
    # prompt attention and attention over the cache: the FP8 rate, not twice it
    assert fp4.prefill_attn_s_per_token2 == pytest.approx(fp8.prefill_attn_s_per_token2)
    assert fp4.attn_s_per_ctx_token == pytest.approx(fp8.attn_s_per_ctx_token)


def test_bf16_serving_runs_attention_at_the_bf16_peak():
    bf16, fp8 = step_cost(B200, LLAMA, 2, "bf16"), step_cost(B200, LLAMA, 2, "fp8")
    assert bf16.prefill_attn_s_per_token2 / fp8.prefill_attn_s_per_token2 == pytest.approx(
        _peak_ratio("fp8", "bf16"))
    assert serving_rates(B200, "bf16", packaged_perf_params().inference).attention_precision == "bf16"


def test_nvfp4_activation_quantization_traffic_from_the_format():
    c = packaged_perf_params().inference
    fp4, fp8 = step_cost(B200, LLAMA, 1, "fp4"), step_cost(B200, LLAMA, 1, "fp8")
    h, f, layers = LLAMA.hidden_size, LLAMA.ffn_hidden_size, LLAMA.layers
    gemm_inputs = h + h + h + f             # QKV, attention output, MLP gate/up, MLP down
    extra_b = 2 * NVFP4_BYTES_PER_VALUE * gemm_inputs * layers  # written by the quantizer, read by the GEMM
    bw = B200.hbm_bandwidth_tb_s * 1e12 * c["hbm_efficiency"]
    assert fp4.elementwise_s_per_token - fp8.elementwise_s_per_token == pytest.approx(extra_b / bw)
    assert step_cost(B200, LLAMA, 2, "bf16").elementwise_s_per_token == pytest.approx(
        step_cost(B200, LLAMA, 2, "fp8").elementwise_s_per_token)


def test_fp4_gemm_efficiency_scales_only_fp4_gemms():
    params = packaged_perf_params()
    half = params.inference["fp4_gemm_efficiency_vs_fp8"] / 2
    low = params.replaced("inference", fp4_gemm_efficiency_vs_fp8=half)
    base, slow = step_cost(B200, LLAMA, 1, "fp4"), step_cost(B200, LLAMA, 1, "fp4", params=low)
    assert slow.prefill_s_per_token == pytest.approx(2 * base.prefill_s_per_token)
    assert slow.prefill_attn_s_per_token2 == pytest.approx(base.prefill_attn_s_per_token2)
    assert step_cost(B200, LLAMA, 1, "fp8", params=low) == step_cost(B200, LLAMA, 1, "fp8")


def test_fp4_gemm_efficiency_is_sourced_with_its_range():
    value = packaged_perf_params().inference["fp4_gemm_efficiency_vs_fp8"]
    assert 0.77 <= value <= 1.0


def test_serving_simulators_use_the_same_per_operation_cost():
    dep = Deployment(platform="hgx-b200", model="llama-2-70b", replicas=2, gpus_per_replica=1, precision="fp4")
    assert dep.cost == step_cost(B200, LLAMA, 1, "fp4")
    assert dep.cost.prefill_attn_s_per_token2 == pytest.approx(
        step_cost(B200, LLAMA, 1, "fp8").prefill_attn_s_per_token2)


def test_fp4_on_hopper_is_refused():
    with pytest.raises(InputError, match="no FP4"):
        serving_rates(get_platform("hgx-h100"), "fp4", packaged_perf_params().inference)
