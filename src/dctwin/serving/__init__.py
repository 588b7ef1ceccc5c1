"""LLM inference serving: a request-level simulator and a fluid (rate) model on the same deployment.

* :func:`simulate_requests`: discrete-event replay of individual requests
  with continuous batching; TTFT and TPOT per request.
* :func:`fluid_serving`: from per-interval request and token rates, the
  utilisation and approximate latency percentiles (M/G/1, M/G/infinity and
  M/G/c approximations over the batch capacity), cheap enough for a year of
  site-scale demand.
* :func:`compare_models`: both on one request log, figure by figure.
* :func:`simulate_disaggregated`: prefill and decode on separate pools, the
  KV cache sent between them, on the same request-level simulator.

Both charge each engine iteration with the roofline of :mod:`dctwin.perf`
(:class:`StepCost`), so they differ only in how they treat queueing and batching.
"""

from dctwin.serving.compare import METRICS, ModelComparison, compare_models
from dctwin.serving.deployment import Deployment, StepCost, step_cost
from dctwin.serving.disagg import DisaggregatedResult, simulate_disaggregated
from dctwin.serving.fluid import FluidResult, TokenProfile, fluid_serving, interval_rates, token_profile
from dctwin.serving.request_level import RequestLevelResult, simulate_requests

__all__ = ["METRICS", "Deployment", "DisaggregatedResult", "FluidResult", "ModelComparison", "RequestLevelResult",
           "StepCost", "TokenProfile", "compare_models", "fluid_serving", "interval_rates", "simulate_disaggregated",
           "simulate_requests", "step_cost", "token_profile"]
