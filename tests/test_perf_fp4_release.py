"""Blackwell FP4 over Hopper FP8 within one software round, and the serving stack as an input (issue #15).

The NVFP4 GEMM rate is the one same-harness NVFP4/FP8 GEMM pair on B200 (vLLM's CUTLASS kernels at
16,384 x 6,144 x 4,096, calibration.yaml source vllm_gemm_sm100); the absolute level of a run is the
efficiency fitted to its software round (compute_efficiency: MLPerf v4.0, compute_efficiency_2025: v5.1).
Same-round pairs of published results check the two together: with NVFP4 GEMMs at the FP8 GEMMs' share of
peak (the old assumption) every pair came out 18-26 % too high.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dctwin.catalog import get_platform
from dctwin.config.workload import WorkloadConfig
from dctwin.errors import InputError
from dctwin.perf.inference import inference_perf
from dctwin.perf.params import SERVING_SOFTWARE, packaged_perf_params
from dctwin.validate.cases import load_cases, run_case

H200 = get_platform("hgx-h200")
# vLLM GEMM benchmarks on B200, TFLOP/s at M=16,384 N=6,144 K=4,096 (pull 20646 'Before', pull 19566), and the peaks
NVFP4_TFLOPS, FP8_TFLOPS = 3904.3, 2544.7
SAME_ROUND_PAIRS = ("mlperf-v4.1-llama2-70b-b200-fp4-over-h200-fp8", "mlperf-v5.1-llama2-70b-b200-fp4-over-h200-fp8",
                    "mlperf-v5.1-llama31-405b-b200-fp4-over-h200-fp8",
                    "trtllm-llama31-405b-5000-500-b200-fp4-over-h200-fp8")


def test_nvfp4_gemm_rate_is_the_same_harness_pair():
    b200 = get_platform("hgx-b200")
    share = (NVFP4_TFLOPS / b200.peak_tflops("fp4")) / (FP8_TFLOPS / b200.peak_tflops("fp8"))
    assert packaged_perf_params().inference["fp4_gemm_efficiency_vs_fp8"] == pytest.approx(share, abs=0.005)


@pytest.mark.parametrize("case_id", SAME_ROUND_PAIRS)
def test_blackwell_fp4_over_hopper_fp8_within_one_round(case_id):
    case = next(c for c in load_cases() if c.id == case_id)
    result = run_case(case)
    assert case.known_gap is None and case.role == "check"
    assert result.passed, (case_id, result)


def test_serving_software_sets_the_efficiency_and_defaults_to_the_slower_stack():
    params = packaged_perf_params()
    assert WorkloadConfig().serving_software == "2024"
    assert params.for_serving_software("2024") is params
    newer = params.for_serving_software("2025")
    assert newer.inference["compute_efficiency"] == params.inference["compute_efficiency_2025"]
    assert newer.for_serving_software("2025") is newer               # applied twice, once
    older_tps = inference_perf(H200, "llama-2-70b", 8, "fp8", 400, 294).tokens_per_s
    newer_tps = inference_perf(H200, "llama-2-70b", 8, "fp8", 400, 294, params=newer).tokens_per_s
    assert newer_tps > older_tps
    assert set(SERVING_SOFTWARE) == {"2024", "2025"}


def test_serving_software_written_as_a_bare_year_is_that_year():
    """YAML reads ``serving_software: 2025`` as the integer 2025: the same year, not an unknown value."""
    from dctwin.config import load_scenario
    from dctwin.config.load import scenario_from_dict

    doc = load_scenario().model_dump(mode="json")
    doc["workload"]["serving_software"] = 2025
    assert scenario_from_dict(doc).workload.serving_software == "2025"
    params = packaged_perf_params()
    assert (params.for_serving_software(2025).inference["compute_efficiency"]
            == params.for_serving_software("2025").inference["compute_efficiency"]
            > params.inference["compute_efficiency"])
    for bad in (True, 2026, 2025.0):
        with pytest.raises(ValidationError):
            WorkloadConfig(serving_software=bad)


def test_unknown_serving_software_is_refused():
    with pytest.raises(InputError, match="serving software"):
        packaged_perf_params().for_serving_software("2026")
    with pytest.raises(ValidationError):
        WorkloadConfig(serving_software="2026")


def test_a_scenario_serves_at_its_serving_stack():
    """The run (stages.chain) and the planner use the scenario's serving_software: the same tokens on fewer
    GPU-hours with the 2025 stack."""
    from dctwin.config.load import load_scenario, scenario_from_dict
    from dctwin.orchestrator import simulate
    from dctwin.plan.model import _tokens_per_s

    base = load_scenario("borlange-2027").model_dump(mode="json")
    kpis = {}
    for software in ("2024", "2025"):
        doc = {**base, "workload": {**base["workload"], "serving_software": software},
               "simulation": {**base["simulation"], "duration_days": 2}}
        kpis[software] = simulate(scenario_from_dict(doc)).kpis
    served = [k for k in kpis["2024"] if k.startswith("tokens_served__")]
    assert served and all(kpis["2025"][k] == pytest.approx(kpis["2024"][k]) for k in served)
    assert kpis["2025"]["inference_cost_base_eur"] < kpis["2024"]["inference_cost_base_eur"]
    assert _tokens_per_s(H200, "llama-2-70b", "2025") > _tokens_per_s(H200, "llama-2-70b", "2024")
