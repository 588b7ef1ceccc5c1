"""The calibration points of the performance model, the fit of its free constants and the error report.

Published figures live once: the training and inference points the constants are fitted to are the
``role: calibration`` cases of ``validate/data/cases.yaml`` (shown by ``dctwin validate`` beside the checks);
``perf/data/reference.yaml`` holds only the fit points no validation case carries (power-capped throughput,
FP8 attention). Run ``python -m dctwin.perf`` to print the table of case, published, modelled and error, and
the constants a fresh fit would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from dctwin.catalog import get_platform
from dctwin.catalog.platform import Platform
from dctwin.datafile import read_data_yaml, read_sources
from dctwin.errors import InputError
from dctwin.perf.inference import offline_tokens_per_s
from dctwin.perf.params import SERVING_SOFTWARE, PerfParams, packaged_perf_params
from dctwin.perf.power import power_cap_throughput_factor
from dctwin.perf.search import training_perf

__all__ = ["CaseResult", "calibration_cases", "calibration_report", "calibration_text", "fit_constants",
           "format_report", "load_reference"]


@dataclass(frozen=True)
class CaseResult:
    """One reference case: the published figure, the model's figure and the relative error."""

    case: str
    kind: str           # 'training' | 'inference' | 'inference_ratio' | 'power_cap' | 'attention'
    quantity: str       # what is compared, with unit
    published: float
    modelled: float
    error: float        # (modelled - published) / published [-]
    tolerance: float    # accepted |error| [-]
    role: str           # 'fit': a constant is fitted to it
    source: str


#: validate measure -> kind of the perf model's calibration cases in validate/data/cases.yaml
_CALIBRATION_MEASURES = {"training_tflops_per_gpu": "training", "inference_offline_tokens_per_s": "inference",
                         "inference_throughput_ratio": "inference_ratio"}


@lru_cache(maxsize=1)
def calibration_cases() -> dict[str, list[dict]]:
    """The training and inference fit points: ``role: calibration`` cases of ``validate/data/cases.yaml``, by kind,
    each its params with ``id``, ``published``, ``tolerance`` and ``source`` added."""
    from dctwin.validate import load_cases  # validate checks perf; imported late so perf does not need it to run

    out: dict[str, list[dict]] = {kind: [] for kind in _CALIBRATION_MEASURES.values()}
    for case in load_cases():
        if case.role == "calibration" and case.measure in _CALIBRATION_MEASURES:
            out[_CALIBRATION_MEASURES[case.measure]].append(
                {**case.params, "id": case.id, "published": case.published, "tolerance": case.tolerance_rel,
                 "source": f"{case.source_title}, {case.source_url}"})
    return out


@lru_cache(maxsize=1)
def load_reference() -> dict:
    """The fit points only ``perf/data/reference.yaml`` holds (power cap, FP8 attention) and their sources."""
    path = Path(str(resources.files("dctwin.perf") / "data" / "reference.yaml"))
    doc = read_data_yaml(path, "reference file")
    sources = read_sources(doc, str(path))
    for kind in ("power_cap", "attention"):
        for i, case in enumerate(doc.get(kind) or []):
            if case.get("source") not in sources:
                raise InputError("source key not in the file's 'sources'", file=str(path), field=f"{kind}[{i}].source",
                                 value=case.get("source"), allowed=", ".join(sources))
    return doc


def _training_case(case: dict, platform: Platform, params: PerfParams) -> float:
    return training_perf(platform, case["model"], case["n_gpus"], case["precision"],
                         global_batch_tokens=case["global_batch_tokens"], tp=case["tp"], pp=case["pp"],
                         dp=case["dp"], seq_tokens=case["seq_tokens"], params=params).tflops_per_gpu


def _attention_case(case: dict, platform: Platform, params: PerfParams) -> float:
    """Step time with BF16 attention over the step with FP8 attention, same run otherwise [-]."""
    run = {k: case[k] for k in ("global_batch_tokens", "seq_tokens", "mode", "tp", "pp", "dp")}
    steps = [training_perf(platform, case["model"], case["n_gpus"], case["precision"], params=params,
                           attention_precision=a, **run).step_time_s for a in ("bf16", "fp8")]
    return steps[0] / steps[1]


def _offline(run: dict, platform: Platform, params: PerfParams) -> float:
    """Offline output tokens/s of one run of a case [token/s], every parameter applied as ``dctwin validate``
    applies it (request shape, replica size and serving stack when the case gives them)."""
    keys = ("input_tokens", "output_tokens", "gpus_per_replica", "software", "pp")
    return offline_tokens_per_s(platform, run["model"], run["n_gpus"], run["precision"], params=params,
                                **{k: run[k] for k in keys if k in run})


def _inference_ratio_case(case: dict, platforms: Callable[[str], Platform], params: PerfParams) -> float:
    """Offline output tokens/s of run ``numerator`` over run ``denominator`` [-] (a MoE model over its dense
    sibling in one harness: what inference.expert_gemm_efficiency_vs_dense is fitted to)."""
    num, den = case["numerator"], case["denominator"]
    return _offline(num, platforms(num["platform"]), params) / _offline(den, platforms(den["platform"]), params)


def calibration_report(platforms: Callable[[str], Platform] = get_platform,
                       params: PerfParams | None = None) -> list[CaseResult]:
    """Model every calibration point with the constants ``params`` (None: the packaged ones) and compare with its
    published figure."""
    params = params or packaged_perf_params()
    ref = load_reference()
    sources = ref["sources"]
    out: list[CaseResult] = []
    fitted = calibration_cases()
    for kind, quantity, model_fn in (("training", "model TFLOP/s per GPU", _training_case),
                                     ("inference", "output tokens/s", _offline)):
        for case in fitted[kind]:
            val, pub = model_fn(case, platforms(case["platform"]), params), case["published"]
            out.append(CaseResult(case["id"], kind, quantity, pub, val, (val - pub) / pub, case["tolerance"], "fit",
                                  case["source"]))
    for case in fitted["inference_ratio"]:
        val, pub = _inference_ratio_case(case, platforms, params), case["published"]
        out.append(CaseResult(case["id"], "inference_ratio", "tokens/s ratio", pub, val, (val - pub) / pub,
                              case["tolerance"], "fit", case["source"]))
    for case in ref["attention"]:
        val = _attention_case(case, platforms(case["platform"]), params)
        pub = float(case["published_speedup"])
        out.append(CaseResult(case["id"], "attention", "FP8 / BF16 attention speed-up", pub, val, (val - pub) / pub,
                              case["tolerance"], case["role"], sources[case["source"]]))
    for case in ref["power_cap"]:
        val = power_cap_throughput_factor(platforms("hgx-h100"), case["cap_fraction"], params=params)
        pub = float(case["published_throughput_fraction"])
        out.append(CaseResult(case["id"], "power_cap", "throughput fraction", pub, val, (val - pub) / pub,
                              case["tolerance"], case["role"], sources[case["source"]]))
    return out


def _fit_one(objective: Callable[[float], float], lo: float, hi: float) -> float:
    res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    return float(res.x)


def _log_sq_error(cases: list[tuple[dict, float]], model_fn: Callable[[dict], float]) -> float:
    return float(sum(np.log(model_fn(case) / published) ** 2 for case, published in cases))


def _fit_training(cases: list[tuple[dict, float]], name: str, platforms: Callable[[str], Platform]) -> float:
    def objective(x: float) -> float:
        trial = packaged_perf_params().replaced("training", **{name: x})
        return _log_sq_error(cases, lambda case: _training_case(case, platforms(case["platform"]), trial))
    return _fit_one(objective, 0.1, 0.95)


def _inference_objective(cases: list[tuple[dict, float]], name: str,
                         platforms: Callable[[str], Platform]) -> Callable[[float], float]:
    def objective(x: float) -> float:
        trial = packaged_perf_params().replaced("inference", **{name: x})
        return _log_sq_error(cases, lambda case: _offline(case, platforms(case["platform"]), trial))
    return objective


def fit_constants(platforms: Callable[[str], Platform] = get_platform) -> dict[str, float]:
    """Refit the free constants to the calibration points (least squares on log error); returns name -> value."""
    ref, points = load_reference(), calibration_cases()
    fitted: dict[str, float] = {}
    for precision, name in (("fp8", "kernel_efficiency_fp8"), ("bf16", "kernel_efficiency_bf16")):
        cases = [(c, c["published"]) for c in points["training"] if c["precision"] == precision]
        fitted[name] = _fit_training(cases, name, platforms)

    for software, name in SERVING_SOFTWARE.items():  # one efficiency per serving stack, from its own runs
        inf_cases = [(c, c["published"]) for c in points["inference"] if c.get("software", "2024") == software]
        fitted[name] = _fit_one(_inference_objective(inf_cases, name, platforms), 0.1, 0.95)

    ratios = [(c, c["published"]) for c in points["inference_ratio"]]

    def expert_objective(x: float) -> float:
        trial = packaged_perf_params().replaced("inference", expert_gemm_efficiency_vs_dense=x)
        return _log_sq_error(ratios, lambda case: _inference_ratio_case(case, platforms, trial))
    fitted["expert_gemm_efficiency_vs_dense"] = _fit_one(expert_objective, 0.3, 1.0)

    att = [(c, c["published_speedup"]) for c in ref["attention"] if c["role"] == "fit"]

    def attention_objective(x: float) -> float:
        trial = packaged_perf_params().replaced("training", attention_fp8_speedup=x)
        return _log_sq_error(att, lambda case: _attention_case(case, platforms(case["platform"]), trial))
    fitted["attention_fp8_speedup"] = _fit_one(attention_objective, 1.0, 2.0)

    pairs = [(c["cap_fraction"], c["published_throughput_fraction"]) for c in ref["power_cap"] if c["role"] == "fit"]
    fitted["throughput_exponent"] = _fit_one(
        lambda a: sum((a * np.log(f) - np.log(t)) ** 2 for f, t in pairs), 0.05, 1.5)
    return fitted


def calibration_text() -> str:
    """What ``python -m dctwin.perf`` and ``dctwin perf calibration`` print: the report of every calibration point
    and the constants a fresh fit gives."""
    fresh = {k: round(v, 4) for k, v in fit_constants().items()}
    return f"{format_report(calibration_report())}\n\nconstants a fresh fit gives: {fresh}"


def format_report(results: list[CaseResult]) -> str:
    """A plain-text table: case, published, modelled, error."""
    lines = [f"{'case':50s} {'quantity':22s} {'published':>11s} {'modelled':>11s} {'error':>8s}  role"]
    for r in results:
        lines.append(f"{r.case:50s} {r.quantity:22s} {r.published:11.4g} {r.modelled:11.4g} "
                     f"{100 * r.error:+7.1f}%  {r.role}")
    return "\n".join(lines)
