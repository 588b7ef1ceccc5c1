"""Component failure rates, recovery times and the checkpoint interval rule.

Rates are per GPU and superposed over components: a job on ``g`` GPUs fails
at ``g * sum(rate_c)`` per second, and a failure's component is drawn with
probability ``rate_c / sum(rate)``. Published values live in
``data/failure_rates.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dctwin.config.cluster import CheckpointConfig, FailureConfig
from dctwin.datafile import read_data_yaml, read_sources, sourced_value
from dctwin.errors import InputError

__all__ = ["FailureModel", "checkpoint_interval_s", "failure_model", "read_failure_rates", "young_daly_interval_s"]

_DATA = Path(__file__).parent / "data" / "failure_rates.yaml"


@lru_cache(maxsize=4)
def read_failure_rates(path: str = str(_DATA)) -> dict:
    """The failure-rate data file as a dict (cached); every component's and recovery time's source is checked."""
    doc = read_data_yaml(path, "failure-rate file")
    sources = read_sources(doc, path)
    for name, comp in (doc.get("components") or {}).items():
        if not isinstance(comp, dict) or comp.get("source") not in sources:
            raise InputError("source key not in the file's 'sources'", file=path, field=f"components.{name}.source",
                             value=comp.get("source") if isinstance(comp, dict) else comp, allowed=", ".join(sources))
    for name, entry in (doc.get("recovery") or {}).items():
        sourced_value(entry, f"recovery.{name}", sources, path)
    return doc


@dataclass(frozen=True)
class FailureModel:
    """Per-GPU failure rates and recovery times.

    ``rate_per_gpu_s`` [1/(GPU s)] per component, ``node_down`` whether a
    failure of that component takes a node down for ``repair_s`` [s].
    """

    components: tuple[str, ...]
    rate_per_gpu_s: np.ndarray
    node_down: np.ndarray
    detect_s: float
    restart_s: float
    repair_s: float
    checkpoint_cost_s: float
    node_gpus: int

    @property
    def total_rate_per_gpu_s(self) -> float:
        """Sum of component rates [1/(GPU s)]."""
        return float(self.rate_per_gpu_s.sum())

    @property
    def component_p(self) -> np.ndarray:
        """Probability that a failure comes from each component [-]."""
        tot = self.rate_per_gpu_s.sum()
        return self.rate_per_gpu_s / tot if tot > 0 else np.full(len(self.components), 1.0 / len(self.components))

    @property
    def component_cdf(self) -> np.ndarray:
        """Cumulative ``component_p``, its last value exactly 1: a failure's component is the first whose value
        exceeds a uniform draw (``draw_components``; the method of numpy's ``Generator.choice``)."""
        cdf = self.component_p.cumsum()
        return cdf / cdf[-1] if cdf.size else cdf


def draw_components(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """Components of ``n`` failures (indices into ``cdf``), one uniform draw each; the compiled engine core
    draws the same way (``core/store.draw_comp``)."""
    return np.searchsorted(cdf, rng.random(n), side="right")


def failure_model(cfg: FailureConfig, ckpt: CheckpointConfig, domain_gpus: int) -> FailureModel:
    """Build the failure model of a run from its config and the data file."""
    data = read_failure_rates()
    if cfg.rates != data["id"]:
        raise InputError("unknown failure-rate data set", field="scheduler.failures.rates", value=cfg.rates,
                         allowed=data["id"])
    comps = data["components"]
    names = tuple(comps)
    hours = float(data["observed_gpu_hours"])
    rate = np.array([comps[c]["count"] / hours / 3600.0 for c in names]) * (cfg.rate_scale if cfg.enabled else 0.0)
    down = np.array([bool(comps[c]["node_down"]) for c in names])
    rec = data["recovery"]

    def pick(v, key):
        return float(rec[key]["value"]) if v is None else float(v)

    return FailureModel(
        components=names,
        rate_per_gpu_s=rate,
        node_down=down,
        detect_s=pick(cfg.detect_s, "detect_s"),
        restart_s=pick(cfg.restart_s, "restart_s"),
        repair_s=pick(cfg.repair_s, "repair_s"),
        checkpoint_cost_s=pick(ckpt.cost_s, "checkpoint_cost_s"),
        node_gpus=int(cfg.node_gpus) if cfg.node_gpus is not None else min(8, int(domain_gpus)),
    )


def young_daly_interval_s(cost_s: float, mtbf_s: float) -> float:
    """Young/Daly optimum compute time between checkpoints, ``sqrt(2 C M)`` [s].

    ``cost_s`` checkpoint write time C [s]; ``mtbf_s`` the job's mean time
    between failures M [s]. Infinite when the job never fails; floored at 1 s
    (a free checkpoint would otherwise mean checkpointing continuously).
    """
    if not math.isfinite(mtbf_s):
        return math.inf
    return max(1.0, math.sqrt(2.0 * cost_s * mtbf_s))


def checkpoint_interval_s(cfg: CheckpointConfig, cost_s: float, job_rate_per_s: float) -> float:
    """Compute time between checkpoints for a job failing at ``job_rate_per_s`` [s]; inf means never."""
    if cfg.policy == "none":
        return math.inf
    if cfg.policy == "fixed":
        return float(cfg.interval_s)
    return young_daly_interval_s(cost_s, 1.0 / job_rate_per_s if job_rate_per_s > 0 else math.inf)
