"""A serving deployment: model, precision, and replicas of ``g`` (tensor-parallel) x ``pp`` (pipeline) GPUs.

The cost of one engine step is the one roofline of
:mod:`dctwin.perf.roofline` (:class:`StepCost`, re-exported here), the same
function :func:`dctwin.perf.inference_perf` evaluates at a steady batch, so
the fluid and request-level serving models and the site-scale capacity use
one implementation (``tests/test_serving_step.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf.models import get_model
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.roofline import StepCost, step_cost

__all__ = ["Deployment", "StepCost", "step_cost"]


@dataclass(frozen=True)
class Deployment:
    """``replicas`` copies of ``model`` at ``precision``, each on ``gpus_per_replica`` (tensor-parallel size) x ``pp``
    (pipeline stages) GPUs of ``platform`` (the layouts :func:`dctwin.perf.roofline.check_layout` allows).

    ``max_prefill_tokens`` is the engine's per-iteration token budget for
    prompts (TensorRT-LLM ``max_num_tokens``, vLLM ``max_num_batched_tokens``).
    """

    platform: str
    model: str
    replicas: int
    gpus_per_replica: int
    precision: str = "fp8"
    max_prefill_tokens: int = 8192     # prompt tokens one iteration may prefill (engine setting) [-]
    params: PerfParams | None = None   # the performance model's constants (None: the packaged ones)
    pp: int = 1                        # pipeline stages of one replica [-]

    def __post_init__(self):
        if int(self.replicas) < 1:
            raise InputError("a deployment needs at least one replica", field="replicas", value=self.replicas)
        if isinstance(self.pp, bool) or not isinstance(self.pp, int) or self.pp < 1:
            raise InputError("pp (pipeline stages per replica) must be a whole number >= 1", field="pp", value=self.pp)
        if int(self.max_prefill_tokens) < 1:
            raise InputError("max_prefill_tokens must be >= 1", field="max_prefill_tokens",
                             value=self.max_prefill_tokens)

    @property
    def n_gpus(self) -> int:
        """GPUs of the whole deployment [-]."""
        return self.replicas * self.replica_gpus

    @property
    def replica_gpus(self) -> int:
        """GPUs of one replica, tensor-parallel size x pipeline stages [-]."""
        return self.gpus_per_replica * self.pp

    @property
    def perf_params(self) -> PerfParams:
        """The performance constants the deployment is modelled with."""
        return self.params or packaged_perf_params()

    @cached_property
    def cost(self) -> StepCost:
        """Step cost of one replica (see :func:`step_cost`)."""
        return step_cost(get_platform(self.platform), get_model(self.model), self.gpus_per_replica, self.precision,
                         params=self.perf_params, pp=self.pp)

    def label(self) -> str:
        """e.g. 'llama-2-70b fp8 on 2 x TP2 hgx-h100 (4 GPUs)'; with pp > 1 'TP8 PP2'."""
        stages = f" PP{self.pp}" if self.pp > 1 else ""
        return (f"{self.model} {self.precision} on {self.replicas} x TP{self.gpus_per_replica}{stages} {self.platform} "
                f"({self.n_gpus} GPUs)")
