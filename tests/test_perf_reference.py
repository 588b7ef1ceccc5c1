"""Reference cases and the reproducibility of the fitted constants in calibration.yaml."""

import pytest

from dctwin.perf import calibration_report, fit_constants, format_report
from dctwin.perf.params import load_params


def test_every_reference_case_within_its_tolerance():
    results = calibration_report()
    assert {r.kind for r in results} == {"training", "inference", "inference_ratio", "power_cap", "attention"}
    bad = [r for r in results if abs(r.error) > r.tolerance]
    assert not bad, format_report(bad)
    assert all(r.source for r in results)


def test_stored_constants_are_the_fit_of_the_reference_cases():
    params = load_params()
    fitted = fit_constants()
    stored = {
        "kernel_efficiency_fp8": params["training"]["kernel_efficiency_fp8"],
        "kernel_efficiency_bf16": params["training"]["kernel_efficiency_bf16"],
        "compute_efficiency": params["inference"]["compute_efficiency"],
        "compute_efficiency_2025": params["inference"]["compute_efficiency_2025"],
        "throughput_exponent": params["power_cap"]["throughput_exponent"],
        "attention_fp8_speedup": params["training"]["attention_fp8_speedup"],
        "expert_gemm_efficiency_vs_dense": params["inference"]["expert_gemm_efficiency_vs_dense"],
    }
    for name, value in stored.items():
        assert value == pytest.approx(fitted[name], rel=0.01), name


def test_report_table_lists_each_case():
    results = calibration_report()
    text = format_report(results)
    assert all(r.case in text for r in results)


def test_each_published_figure_has_one_home():
    """The training and inference fit points are validate's calibration cases; reference.yaml keeps only the fit
    points no validation case carries, and none of validate's figures a second time."""
    from dctwin.perf.reference import calibration_cases, load_reference
    from dctwin.validate import load_cases

    cases = {c.id: c for c in load_cases()}
    ref = load_reference()
    assert set(ref) == {"sources", "power_cap", "attention"}
    assert not {c["id"] for kind in ("power_cap", "attention") for c in ref[kind]} & set(cases)
    points = calibration_cases()
    # a new fit point is a refit: name it (inference_ratio: Mixtral 8x7B / Mistral 7B, expert GEMM efficiency;
    # the third inference point: Nebius v5.1 8x H200, compute_efficiency_2025, i15q)
    assert [len(points["training"]), len(points["inference"]), len(points["inference_ratio"])] == [3, 3, 1]
    for point in points["training"] + points["inference"] + points["inference_ratio"]:
        case = cases[point["id"]]
        assert case.role == "calibration" and point["published"] == case.published


def test_the_fit_models_each_calibration_case_as_validate_does():
    """The fit read a case's platform, model, GPUs and precision but dropped its output_tokens, gpus_per_replica
    (and, for ratio cases, software): the Nebius v5.1 point was fitted at 294.45 tokens and the best replica size,
    validated at 293.39 and TP1 (34,803 vs 34,740 tokens/s). Every fit point's modelled figure is validate's."""
    from dctwin.validate import load_cases
    from dctwin.validate.cases import run_case

    cases = {c.id: c for c in load_cases()}
    for r in calibration_report():
        if r.kind in ("training", "inference", "inference_ratio"):
            assert r.modelled == pytest.approx(run_case(cases[r.case]).modelled, rel=1e-12), r.case
