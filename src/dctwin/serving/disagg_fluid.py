"""Disaggregated serving at site scale: a prefill pool and a decode pool sized to each step's demand (fluid).

The year-scale counterpart of :func:`dctwin.serving.simulate_disaggregated`,
on the steady rates of :func:`dctwin.perf.disaggregated_perf` (the one
roofline), per time step:

* pools: the prefill pool grows in units of ``prefill_gpus``; a unit carries
  the prompts its GPUs prefill or its link sends, whichever is fewer. The
  decode pool grows in units of ``decode_gpus``; a unit emits the output
  tokens of its replicas at the TPOT target. Each pool gets the units its own
  load needs at the target utilisation (Splitwise provisions the two pools
  apart), so a step's GPUs follow the split of the work, not a fixed ratio;
* busy shares: a prefill GPU works only while it holds prompts, so its busy
  share is its load (prompts served / prompts its units compute); the link's
  is prompts served / prompts it carries. A decode replica iterates whenever
  it holds a sequence: busy with the probability that one is in flight,
  ``1 - exp(-lam E[stay])`` (M/G/infinity, as :mod:`dctwin.serving.fluid`),
  ``lam`` the requests per decode replica, ``E[stay]`` = output tokens x TPOT;
* IT power: each pool's units on the platform's IT power curve at the pool's
  busy share (:func:`dctwin.facility.it_power.rack_power_curve_kw`), as the
  request-level replay charges it. The KV link's NICs are parts of the units,
  so their energy is in that power (nearly static: ``nic`` proportionality in
  ``facility/data/it_power.yaml``); the link's busy share says how close it is
  to bounding the prefill pool, and its transfer time is in the TTFT check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.facility.it_power import rack_power_curve_kw
from dctwin.facility.params import FacilityParams
from dctwin.perf.disagg import DisaggregatedPerf

__all__ = ["PoolLoads", "PoolSizes", "pool_loads", "pool_sizes", "unit_label"]


@dataclass(frozen=True)
class PoolSizes:
    """Units of each pool per step and the GPUs they hold."""

    prefill_units: np.ndarray     # [-]
    decode_units: np.ndarray      # [-]
    prefill_gpus: np.ndarray      # [GPU]
    decode_gpus: np.ndarray       # [GPU]

    @property
    def gpus(self) -> np.ndarray:
        """GPUs of both pools [GPU]."""
        return self.prefill_gpus + self.decode_gpus


@dataclass(frozen=True)
class PoolLoads:
    """Busy shares and IT power of the pools actually granted, per step."""

    prefill_busy: np.ndarray      # share of prefill GPU time in steps [-]
    decode_busy: np.ndarray       # share of decode GPU time in steps [-]
    kv_link_busy: np.ndarray      # share of the prefill units' link time sending KV caches [-]
    idle_gpus: np.ndarray         # GPUs held by the pools but idle, time mean [GPU]
    it_power_kw: np.ndarray       # IT power of the granted units of both pools [kW]


def pool_sizes(perf: DisaggregatedPerf, prefill_gpus: int, decode_gpus: int, output_tokens_per_s,
               output_tokens_per_request: float, target_utilisation: float = 0.8, min_units: int = 1) -> PoolSizes:
    """Units of each pool to serve ``output_tokens_per_s`` [token/s] at ``target_utilisation`` [-] per step.

    ``perf``: one unit pair from :func:`dctwin.perf.disaggregated_perf` (``prefill_gpus`` and
    ``decode_gpus`` GPUs); requests per second are the output tokens over ``output_tokens_per_request``.
    """
    from dctwin.cluster.inference import replicas_needed  # units are replicas of a pool

    out = np.asarray(output_tokens_per_s, dtype=np.float64)
    requests = out / output_tokens_per_request
    n_pre = replicas_needed(requests, perf.prefill_unit_requests_per_s, target_utilisation,
                            min_units)
    n_dec = replicas_needed(out, perf.decode_tokens_per_s, target_utilisation, min_units)
    return PoolSizes(n_pre, n_dec, n_pre * int(prefill_gpus), n_dec * int(decode_gpus))


def pool_loads(perf: DisaggregatedPerf, sizes: PoolSizes, granted_frac, output_served_per_s,
               output_tokens_per_request: float, platform: Platform,
               facility_params: FacilityParams | None = None) -> PoolLoads:
    """Busy shares and IT power of the pools when ``granted_frac`` [-] of ``sizes`` runs and serves
    ``output_served_per_s`` [token/s] (both per step); ``facility_params``: the IT power constants (None: packaged)."""
    g = np.clip(np.asarray(granted_frac, dtype=np.float64), 0.0, 1.0)
    req = np.asarray(output_served_per_s, dtype=np.float64) / output_tokens_per_request
    pre_units, dec_units = sizes.prefill_units * g, sizes.decode_units * g

    def share(x, cap):
        return np.clip(np.divide(x, cap, out=np.zeros_like(x), where=cap > 0), 0.0, 1.0)

    pre_busy = share(req, pre_units * perf.prefill_requests_per_s)
    kv_busy = share(req, pre_units * perf.kv_requests_per_s)
    dec_replicas = dec_units * (perf.decode_tokens_per_s / perf.decode_replica_tokens_per_s)
    lam = np.divide(req, dec_replicas, out=np.zeros_like(req), where=dec_replicas > 0)
    dec_busy = 1.0 - np.exp(-lam * output_tokens_per_request * perf.tpot_s)
    pre_gpus, dec_gpus = sizes.prefill_gpus * g, sizes.decode_gpus * g
    per_unit = float(platform.gpus_per_unit)
    power = (rack_power_curve_kw(platform, pre_busy, params=facility_params) * pre_gpus
             + rack_power_curve_kw(platform, dec_busy, params=facility_params) * dec_gpus) / per_unit
    idle = pre_gpus * (1.0 - pre_busy) + dec_gpus * (1.0 - dec_busy)
    return PoolLoads(pre_busy, dec_busy, kv_busy, idle, np.asarray(power, dtype=np.float64))


def unit_label(prefill_gpus: int, decode_gpus: int) -> str:
    """What one disaggregated unit runs, e.g. 'disaggregated: 8 prefill + 16 decode GPUs'."""
    return f"disaggregated: {prefill_gpus} prefill + {decode_gpus} decode GPUs"
