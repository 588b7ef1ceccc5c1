"""Serving capacity of one rack option, sized with the replica the scenario run will use.

The run (``dctwin.cluster.inference``) serves a colocated service on replicas of its layout when the scenario
sets one ({tp, pp}), else of the fastest per GPU of tensor- and pipeline-parallel layouts, each at the service's
request shape (mean input and output tokens) and TTFT / TPOT targets:
:func:`dctwin.perf.serving_layout.serving_layout_perf`. A disaggregated service runs prefill + decode units
(:func:`dctwin.perf.disaggregated_perf`) whose pools are sized as ``dctwin.serving.disagg_fluid.pool_sizes``
does. The planner takes the same answer per GPU and multiplies by the rack's GPUs (replicas are counted in
fractions here: a replica larger than one rack spans racks; the run rounds up to whole replicas per pool).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dctwin.catalog import Platform
from dctwin.config import Scenario
from dctwin.errors import DctwinError, InputError
from dctwin.perf.params import PerfParams
from dctwin.plan.constraints import PlanConstraints

__all__ = ["RackServing", "rack_serving", "serving_by_option", "token_service"]


@dataclass(frozen=True)
class RackServing:
    """What one rack option serves when all its GPUs serve the token model."""

    tokens_per_s: float   # output tokens/s of one rack at the service's targets [token/s] (0: none)
    layout: str           # one replica, e.g. 'TP8 PP2 (16 GPUs per replica)', or why no layout meets the targets


def token_service(scenario: Scenario, model: str) -> pd.Series:
    """The ``dctwin.workload.inference.services`` row the planner sizes ``model`` with: the scenario's first
    service of that model, else a service of it at ``InferenceServiceConfig``'s defaults (its token profile,
    TTFT and TPOT targets, layout 'auto')."""
    from dctwin.config.workload import InferenceServiceConfig
    from dctwin.workload.inference import services

    wl = scenario.workload
    own = [s for s in wl.inference if s.model == model]
    svc = own[0] if own else InferenceServiceConfig(model=model, peak_requests_per_s=1.0)
    return services(wl.model_copy(update={"inference": [svc]})).iloc[0]


def rack_serving(platform: Platform, service: pd.Series, params: PerfParams, precision: str = "fp8") -> RackServing:
    """Output tokens/s of one rack of ``platform`` serving ``service`` (a ``services`` row), as the run sizes it;
    ``params``: the run's constants at its serving stack; ``precision``: the run's (fp8)."""
    try:
        if int(service.get("prefill_gpus", 0) or 0) and int(service.get("decode_gpus", 0) or 0):
            per_gpu, label = _disaggregated_per_gpu(platform, service, params, precision)
        else:
            per_gpu, label = _colocated_per_gpu(platform, service, params, precision)
    except (DctwinError, ValueError) as exc:   # does not fit, misses the targets, unknown model
        return RackServing(0.0, f"none: {getattr(exc, 'problem', None) or exc}")
    return RackServing(per_gpu * platform.gpus_per_unit, label)


def serving_by_option(scenario: Scenario, cons: PlanConstraints, platforms: list[Platform]) -> dict[str, RackServing]:
    """Each rack option's serving of the token model as the run sizes it (``dctwin.plan.serving``); with a token
    target and no option serving the model at its targets, an InputError giving each option's reason."""
    from dctwin.perf.params import packaged_perf_params

    wl = scenario.workload
    model = cons.token_model or (wl.inference[0].model if wl.inference else "mistral-large-2")
    row = token_service(scenario, model)
    params = packaged_perf_params().for_serving_software(wl.serving_software)  # the run's serving stack
    out = {p.id: rack_serving(p, row, params) for p in platforms}
    if cons.min_tokens_per_day and not any(s.tokens_per_s > 0 for s in out.values()):
        why = "; ".join(f"{pid}: {s.layout}" for pid, s in out.items())
        raise InputError(f"no rack option serves {model} at its targets (TTFT {row['ttft_ms']:g} ms, TPOT "
                         f"{row['tpot_ms']:g} ms): {why}", field="min_tokens_per_day", value=cons.min_tokens_per_day,
                         allowed="a rack type that holds the model (platforms), looser targets or another "
                         "token_model")
    return out


def _colocated_per_gpu(platform: Platform, service: pd.Series, params: PerfParams,
                       precision: str) -> tuple[float, str]:
    from dctwin.cluster.inference import replica_layout

    layout, perf = replica_layout(str(service["model"]), service, platform, precision, params)
    return perf.tokens_per_s / layout.gpus, layout.label()


def _disaggregated_per_gpu(platform: Platform, service: pd.Series, params: PerfParams,
                           precision: str) -> tuple[float, str]:
    """Output tokens/s per GPU of prefill and decode pools in the ratio ``pool_sizes`` keeps them (prefill units
    at the request rate, decode units at the token rate), refused as the run refuses the unit."""
    from dctwin.cluster.inference import disaggregated_unit
    from dctwin.serving.disagg_fluid import unit_label

    n_pre, n_dec = int(service["prefill_gpus"]), int(service["decode_gpus"])
    perf = disaggregated_unit(str(service["model"]), service, platform, precision, params)
    out_tok = float(service["mean_output_tokens"])
    prefill_gpu_s = n_pre / (out_tok * perf.prefill_unit_requests_per_s)
    return 1.0 / (prefill_gpu_s + n_dec / perf.decode_tokens_per_s), unit_label(n_pre, n_dec)
