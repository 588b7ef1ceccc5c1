"""Published reference cases of the performance model, the fit of its free constants and the error report.

Run ``python -m dctwin.perf`` to print the table of case, published,
modelled and error, and the constants a fresh fit would give.
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
from dctwin.perf.inference import inference_perf
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.power import power_cap_throughput_factor
from dctwin.perf.search import training_perf

__all__ = ["CaseResult", "calibration_report", "fit_constants", "format_report", "load_reference"]


@dataclass(frozen=True)
class CaseResult:
    """One reference case: the published figure, the model's figure and the relative error."""

    case: str
    kind: str           # 'training' | 'inference' | 'power_cap' | 'attention'
    quantity: str       # what is compared, with unit
    published: float
    modelled: float
    error: float        # (modelled - published) / published [-]
    tolerance: float    # accepted |error| [-]
    role: str           # 'fit' or 'check'
    source: str


@lru_cache(maxsize=1)
def load_reference() -> dict:
    """The reference cases and their sources (``perf/data/reference.yaml``)."""
    path = Path(str(resources.files("dctwin.perf") / "data" / "reference.yaml"))
    doc = read_data_yaml(path, "reference file")
    sources = read_sources(doc, str(path))
    for kind in ("training", "inference", "power_cap", "attention"):
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


def _inference_case(case: dict, platform: Platform, params: PerfParams) -> float:
    c = params.inference
    return inference_perf(platform, case["model"], case["n_gpus"], case["precision"],
                          input_tokens=c["mlperf_mean_input_tokens"], output_tokens=c["mlperf_mean_output_tokens"],
                          params=params).tokens_per_s


def calibration_report(platforms: Callable[[str], Platform] = get_platform,
                       params: PerfParams | None = None) -> list[CaseResult]:
    """Model every reference case with the constants ``params`` (None: the packaged ones) and compare with its
    published figure."""
    params = params or packaged_perf_params()
    ref = load_reference()
    sources = ref["sources"]
    out: list[CaseResult] = []
    for case in ref["training"]:
        val = _training_case(case, platforms(case["platform"]), params)
        pub = float(case["published_tflops_per_gpu"])
        out.append(CaseResult(case["id"], "training", "model TFLOP/s per GPU", pub, val, (val - pub) / pub,
                              case["tolerance"], case["role"], sources[case["source"]]))
    for case in ref["inference"]:
        val = _inference_case(case, platforms(case["platform"]), params)
        pub = float(case["published_tokens_per_s"])
        out.append(CaseResult(case["id"], "inference", "output tokens/s", pub, val, (val - pub) / pub,
                              case["tolerance"], case["role"], sources[case["source"]]))
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


def fit_constants(platforms: Callable[[str], Platform] = get_platform) -> dict[str, float]:
    """Refit the free constants to the 'fit' cases (least squares on log error); returns name -> value."""
    ref = load_reference()
    fitted: dict[str, float] = {}
    for precision, name in (("fp8", "kernel_efficiency_fp8"), ("bf16", "kernel_efficiency_bf16")):
        cases = [(c, c["published_tflops_per_gpu"]) for c in ref["training"]
                 if c["role"] == "fit" and c["precision"] == precision]
        fitted[name] = _fit_training(cases, name, platforms)

    inf_cases = [(c, c["published_tokens_per_s"]) for c in ref["inference"] if c["role"] == "fit"]

    def inference_objective(x: float) -> float:
        trial = packaged_perf_params().replaced("inference", compute_efficiency=x)
        return _log_sq_error(inf_cases, lambda case: _inference_case(case, platforms(case["platform"]), trial))
    fitted["compute_efficiency"] = _fit_one(inference_objective, 0.1, 0.95)

    att = [(c, c["published_speedup"]) for c in ref["attention"] if c["role"] == "fit"]

    def attention_objective(x: float) -> float:
        trial = packaged_perf_params().replaced("training", attention_fp8_speedup=x)
        return _log_sq_error(att, lambda case: _attention_case(case, platforms(case["platform"]), trial))
    fitted["attention_fp8_speedup"] = _fit_one(attention_objective, 1.0, 2.0)

    pairs = [(c["cap_fraction"], c["published_throughput_fraction"]) for c in ref["power_cap"] if c["role"] == "fit"]
    fitted["throughput_exponent"] = _fit_one(
        lambda a: sum((a * np.log(f) - np.log(t)) ** 2 for f, t in pairs), 0.05, 1.5)
    return fitted


def format_report(results: list[CaseResult]) -> str:
    """A plain-text table: case, published, modelled, error."""
    lines = [f"{'case':50s} {'quantity':22s} {'published':>11s} {'modelled':>11s} {'error':>8s}  role"]
    for r in results:
        lines.append(f"{r.case:50s} {r.quantity:22s} {r.published:11.4g} {r.modelled:11.4g} "
                     f"{100 * r.error:+7.1f}%  {r.role}")
    return "\n".join(lines)
