"""Replay a request log through both serving models on one deployment and put their figures side by side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.serving.deployment import Deployment
from dctwin.serving.fluid import FluidResult, fluid_serving, interval_rates, token_profile
from dctwin.serving.request_level import RequestLevelResult, simulate_requests

__all__ = ["METRICS", "ModelComparison", "compare_models"]

#: Figures compared, each (name, unit).
METRICS = {
    "busy_fraction": "-", "kv_utilisation": "-", "mean_in_flight": "sequences/replica",
    "ttft_p50_s": "s", "ttft_p90_s": "s", "tpot_p50_s": "s", "tpot_p90_s": "s", "tpot_p95_s": "s",
}


@dataclass(frozen=True)
class ModelComparison:
    """The same figures from the request-level replay and from the fluid model."""

    deployment: Deployment
    request_level: dict[str, float]
    fluid: dict[str, float]
    request_result: RequestLevelResult
    fluid_result: FluidResult

    def error(self, metric: str) -> float:
        """(fluid - request level) / request level [-]."""
        ref = self.request_level[metric]
        return (self.fluid[metric] - ref) / ref if ref else float("nan")


def _figures(res) -> dict[str, float]:
    out = {"busy_fraction": res.busy_fraction, "kv_utilisation": res.kv_utilisation,
           "mean_in_flight": res.mean_in_flight}
    for col, q in (("ttft", 50), ("ttft", 90), ("tpot", 50), ("tpot", 90), ("tpot", 95)):
        out[f"{col}_p{q}_s"] = res.percentile(f"{col}_s", q)
    return out


def compare_models(deployment: Deployment, t_s, input_tokens, output_tokens, interval_s: float = 60.0,
                   seed: int = 0) -> ModelComparison:
    """Request-level replay of the log vs the fluid model fed with its per-interval rates and length profile."""
    t = np.asarray(t_s, dtype=float)
    rl = simulate_requests(deployment, t, input_tokens, output_tokens)
    rates = interval_rates(t, input_tokens, output_tokens, interval_s)
    fl = fluid_serving(deployment, rates, token_profile(input_tokens, np.maximum(output_tokens, 1)), interval_s,
                       seed=seed)
    return ModelComparison(deployment, _figures(rl), _figures(fl), rl, fl)
