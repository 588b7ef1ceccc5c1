"""Inference at site scale: replicas per step from demand (fluid), and a request-level check.

Fluid model: a service needs ``ceil(demand / (replica capacity x target
utilisation))`` replicas at each step (at least ``min_replicas``), where the
replica capacity at the service's latency targets comes from
``dctwin.perf.inference_perf``. Replicas run on whole GPUs; the GPUs they
need are what ``simulate_cluster`` serves first and lends to training otherwise.

Autoscaler: the replicas a service holds follow its need the way the Kubernetes HPA follows a metric:
no change while need / held is within ``1 +- tolerance``, growth at once, shrinking only to the highest
need of the step edges in the last ``scale_down_window_s`` (defaults and sources:
``data/inference_autoscaler.yaml``). The held GPUs are what the cluster serves first.

Request-level check: for a short window, replay individual requests (e.g. the
Azure LLM inference trace) through the same number of replicas, each with
``batch`` concurrent slots, first come first served, and compare the measured
busy share and queueing delay with the fluid estimate.
"""

from __future__ import annotations

import contextlib
import heapq
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.params import PerfParams

if TYPE_CHECKING:
    from dctwin.facility.params import FacilityParams

__all__ = ["TARGET_REPLICA_UTILISATION", "Autoscaler", "autoscaler_defaults", "check_service_units",
           "disaggregated_unit", "held_replicas", "idle_held_gpus", "inference_gpus_needed",
           "replica_layout", "replicas_needed", "request_level_check", "served_tokens", "service_layouts"]

TARGET_REPLICA_UTILISATION = 0.8  # replicas sized for 80% load: headroom for bursts inside a step [-]
_AUTOSCALER_FILE = Path(__file__).parent / "data" / "inference_autoscaler.yaml"


@dataclass(frozen=True)
class Autoscaler:
    """How replicas follow need: ``step_s`` [s] of the run, and ``scale_down_window_s`` [s], ``tolerance`` [-]
    and ``sync_s`` [s] (the autoscaler decides once a sync period, at most once a step) as in
    ``data/inference_autoscaler.yaml``."""

    step_s: float
    scale_down_window_s: float
    tolerance: float
    sync_s: float

    @property
    def decision_s(self) -> float:
        """Time between decisions [s]: the step, or the sync period when steps are shorter."""
        return max(self.step_s, self.sync_s)

    @property
    def window_edges(self) -> int:
        """Decisions whose need a scale-down looks back over: those less than the window before now (>= 1)."""
        return max(1, math.ceil(self.scale_down_window_s / self.decision_s - 1e-9))


def autoscaler_defaults(path: Path = _AUTOSCALER_FILE) -> dict[str, float]:
    """The data file's ``scale_down_window_s`` [s] and ``tolerance`` [-] (each checked against its range)."""
    from dctwin.datafile import read_data_yaml, read_sources, sourced_value

    file = str(path)
    doc = read_data_yaml(path, "inference autoscaler file")
    sources = read_sources(doc, file)
    return {k: float(sourced_value(doc.get(k), k, sources, file)[0])
            for k in ("scale_down_window_s", "tolerance", "sync_period_s")}


def held_replicas(load: np.ndarray, want: np.ndarray, auto: Autoscaler) -> np.ndarray:
    """Replicas the autoscaler holds at each step [-].

    ``load``: replicas' worth of demand per step (demand / (replica capacity x target utilisation)) [-];
    ``want``: the replicas that load needs (``replicas_needed``). At steps shorter than the sync period the
    autoscaler decides once a period, on the period's mean load, and holds that through the period. A
    decision keeps the replicas held before while ``|load / held - 1| <= tolerance``; otherwise its
    recommendation is ``want``. Held replicas grow to a higher recommendation at once and shrink only to the
    highest recommendation of the last ``window_edges`` decisions. Without tolerance and window, at steps of
    a sync period or longer, this is ``want``.
    """
    want = np.asarray(want, dtype=np.int64)
    edges, tol = auto.window_edges, auto.tolerance
    if auto.step_s < auto.sync_s and want.size:   # one decision a sync period, on the period's mean load
        k = np.arange(want.size)
        starts = np.flatnonzero(np.r_[True, np.diff(np.floor(k * auto.step_s / auto.sync_s)) != 0])
        steps = np.diff(np.r_[starts, want.size])
        mean = np.add.reduceat(np.asarray(load, dtype=np.float64), starts) / steps
        floor = np.minimum.reduceat(want, starts)     # keeps min_replicas: the period's least want
        need = np.maximum(np.ceil(mean - 1e-9).astype(np.int64), floor)
        return np.repeat(_per_decision(mean, need, edges, tol), steps)
    if edges == 1 and tol == 0:
        return want.copy()
    return _per_decision(load, want, edges, tol)


def _per_decision(load: np.ndarray, want: np.ndarray, edges: int, tol: float) -> np.ndarray:
    """``held_replicas`` at one decision a step."""
    out: list[int] = []
    recent: deque[tuple[int, int]] = deque()      # (decision, recommendation), highest recommendation in front
    held, band_k = 0, -1       # band_k >= 0: the last decision was inside the band, and recent is [(band_k, held)]
    for k, (x, w) in enumerate(zip(np.asarray(load, dtype=np.float64).tolist(), want.tolist(), strict=True)):
        if held and abs(x / held - 1.0) <= tol:   # recommends held, the window's highest: nothing else changes
            band_k = k
            out.append(held)
            continue
        if band_k >= 0:
            recent = deque([(band_k, held)])
            band_k = -1
        while recent and recent[-1][1] <= w:
            recent.pop()
        recent.append((k, w))
        while recent[0][0] <= k - edges:
            recent.popleft()
        held = w if w >= held else recent[0][1]
        out.append(held)
    return np.asarray(out, dtype=np.int64)


def replicas_needed(demand_per_s: np.ndarray, replica_capacity_per_s: float, target_utilisation: float = 0.8,
                    min_replicas: int = 1) -> np.ndarray:
    """Replicas to serve ``demand_per_s`` (requests or tokens per second, any unit) at each step.

    ``replica_capacity_per_s``: what one replica serves at its latency targets
    [same unit]; ``target_utilisation`` [-] leaves headroom for bursts inside a step.
    """
    if not replica_capacity_per_s > 0:
        raise InputError("replica capacity must be > 0", field="replica_capacity_per_s",
                         value=replica_capacity_per_s)
    if not 0 < target_utilisation <= 1:
        raise InputError("target utilisation must be in (0, 1]", field="target_utilisation",
                         value=target_utilisation)
    d = np.asarray(demand_per_s, dtype=np.float64)
    n = np.ceil(d / (replica_capacity_per_s * target_utilisation) - 1e-9)
    return np.maximum(n, min_replicas).astype(np.int64)


def inference_gpus_needed(demand: pd.DataFrame, services: pd.DataFrame, platform: Platform,
                          precision: str = "fp8", target_utilisation: float = 0.8,
                          min_replicas: int = 1, params: PerfParams | None = None,
                          autoscaler: Autoscaler | None = None) -> pd.DataFrame:
    """GPUs each inference service needs per step, and their sum ``gpus_needed`` [GPU].

    With ``autoscaler``, also the GPUs it holds for each service (``<svc>__gpus_held``, ``held_replicas``)
    and their sum ``gpus_held`` [GPU].

    ``demand``: ``dctwin.workload.inference_demand`` output (``<svc>__output_tokens_per_s``...);
    ``services``: ``dctwin.workload.inference.services`` (model, mean tokens, ttft_ms, tpot_ms).
    Replica size and capacity: ``dctwin.perf.serving_layout.serving_layout_perf`` (the service's layout, or the
    fastest per GPU of tensor- and pipeline-parallel layouts), or for a
    disaggregated service a unit of prefill + decode GPUs from ``dctwin.perf.disaggregated_perf``, both with
    the run's performance constants ``params`` (None: packaged).
    """
    out = {}
    for svc, row in services.iterrows():
        col = f"{svc}__output_tokens_per_s"
        if col not in demand.columns:
            raise InputError("demand table lacks a service column", field=col,
                             allowed=", ".join(c for c in demand.columns if c.endswith("__output_tokens_per_s")))
        if _disaggregated(row):
            from dctwin.serving.disagg_fluid import pool_sizes

            n_pre, n_dec = int(row["prefill_gpus"]), int(row["decode_gpus"])
            sizes = pool_sizes(disaggregated_unit(svc, row, platform, precision, params), n_pre, n_dec,
                               demand[col].to_numpy(), float(row["mean_output_tokens"]), target_utilisation,
                               min_replicas)
            out[f"{svc}__replicas"] = sizes.prefill_units + sizes.decode_units
            out[f"{svc}__gpus"] = sizes.gpus
            out[f"{svc}__prefill_units"], out[f"{svc}__decode_units"] = sizes.prefill_units, sizes.decode_units
            if autoscaler is not None:   # each pool on its own, its load counted in whole units
                pre, dec = (held_replicas(u, u, autoscaler) for u in (sizes.prefill_units, sizes.decode_units))
                out[f"{svc}__prefill_units_held"], out[f"{svc}__decode_units_held"] = pre, dec
                out[f"{svc}__gpus_held"] = pre * n_pre + dec * n_dec
            continue
        per_unit, unit_gpus = _unit_capacity(svc, row, platform, precision, params)
        d = demand[col].to_numpy()
        reps = replicas_needed(d, per_unit, target_utilisation, min_replicas)
        out[f"{svc}__replicas"] = reps
        out[f"{svc}__gpus"] = reps * unit_gpus
        if autoscaler is not None:
            load = np.asarray(d, dtype=np.float64) / (per_unit * target_utilisation)
            out[f"{svc}__gpus_held"] = held_replicas(load, reps, autoscaler) * unit_gpus
    df = pd.DataFrame(out, index=demand.index)
    df["gpus_needed"] = df[[c for c in df.columns if c.endswith("__gpus")]].sum(axis=1)
    if autoscaler is not None:
        df["gpus_held"] = df[[c for c in df.columns if c.endswith("__gpus_held")]].sum(axis=1)
    return df


def check_service_units(services: pd.DataFrame, platform: Platform, precision: str = "fp8",
                        params: PerfParams | None = None, pool_gpus: int = 0) -> None:
    """InputError for a service whose replica or disaggregated unit cannot meet its targets on ``platform``, or
    whose replica is larger than the pool's ``pool_gpus`` GPUs (0: not checked): the sizing
    ``inference_gpus_needed`` does first, without a demand series (``dctwin.config.runnable``)."""
    for svc, row in services.iterrows():
        if _disaggregated(row):
            disaggregated_unit(svc, row, platform, precision, params)
            continue
        layout = replica_layout(svc, row, platform, precision, params)[0]
        if pool_gpus and layout.gpus > pool_gpus:
            raise InputError(f"service {svc}: a replica of {layout.label()} does not fit the {pool_gpus:,} GPUs of "
                             f"the {platform.id} pool", field=f"workload.inference[{svc}].layout",
                             value=f"tp {layout.tp}, pp {layout.pp}", allowed=f"at most {pool_gpus:,} GPUs per replica")


def _disaggregated(row: pd.Series) -> bool:
    return bool(int(row.get("prefill_gpus", 0) or 0) and int(row.get("decode_gpus", 0) or 0))


def disaggregated_unit(svc: str, row: pd.Series, platform: Platform, precision: str,
                        params: PerfParams | None = None):
    """``disaggregated_perf`` of one prefill + decode pair at the service's targets (the run's constants
    ``params``, None: packaged); refused when its time to first token misses the target."""
    from dctwin.perf import disaggregated_perf

    n_pre, n_dec = int(row["prefill_gpus"]), int(row["decode_gpus"])
    with _service_fields(svc, platform):
        perf = disaggregated_perf(platform, row["model"], n_pre, n_dec, precision, float(row["mean_input_tokens"]),
                                  float(row["mean_output_tokens"]), tpot_target_s=float(row["tpot_ms"]) / 1e3,
                                  params=params)
    if perf.ttft_s > float(row["ttft_ms"]) / 1e3:
        raise InputError(f"service {svc}: its disaggregated unit reaches a first token in "
                         f"{perf.ttft_s * 1e3:.0f} ms, above the {row['ttft_ms']:.0f} ms target",
                         field=f"workload.inference[{svc}].disaggregated", value=(n_pre, n_dec),
                         allowed="more prefill GPUs, a looser ttft_ms, or colocated serving (null)")
    return perf


def _unit_capacity(svc: str, row: pd.Series, platform: Platform, precision: str,
                   params: PerfParams | None) -> tuple[float, int]:
    """(output tokens/s of one colocated replica at the service's targets, its GPUs) [token/s], [GPU]."""
    layout, perf = replica_layout(svc, row, platform, precision, params)
    return perf.tokens_per_s, layout.gpus


def replica_layout(svc: str, row: pd.Series, platform: Platform, precision: str, params: PerfParams | None):
    """(``ServingLayout``, one replica's ``InferencePerf``) of a colocated service: its layout as set, or the
    automatic choice (``dctwin.perf.serving_layout``), refusals named by the service's scenario field."""
    from dctwin.perf.serving_layout import ServingLayout, serving_layout_perf

    tp, pp = int(row.get("layout_tp", 0) or 0), int(row.get("layout_pp", 0) or 0)
    with _service_fields(svc, platform):
        return serving_layout_perf(platform, row["model"], precision, float(row["mean_input_tokens"]),
                                   float(row["mean_output_tokens"]), float(row["ttft_ms"]) / 1e3,
                                   float(row["tpot_ms"]) / 1e3, ServingLayout(tp, pp) if tp else "auto", params)


def service_layouts(services: pd.DataFrame, platform: Platform, precision: str = "fp8",
                    params: PerfParams | None = None) -> dict[str, str]:
    """What one replica (or disaggregated unit) of each service runs on ``platform``, e.g. 'TP4 PP1 (4 GPUs per
    replica)': the layout the capacity was sized with (``inference_gpus_needed``)."""
    from dctwin.serving.disagg_fluid import unit_label

    out = {}
    for svc, row in services.iterrows():
        if _disaggregated(row):
            out[svc] = unit_label(int(row["prefill_gpus"]), int(row["decode_gpus"]))
        else:
            out[svc] = replica_layout(svc, row, platform, precision, params)[0].label()
    return out


_SERVICE_FIELD = {"ttft_target_s/tpot_target_s": "ttft_ms/tpot_ms", "prefill_gpus": "disaggregated.prefill_gpus",
                  "decode_gpus": "disaggregated.decode_gpus", "layout": "layout", "n_gpus": "layout",
                  "gpus_per_replica": "layout.tp", "pp": "layout.pp"}


@contextlib.contextmanager
def _service_fields(svc: str, platform: Platform):
    """The performance model's refusal named by the scenario field of service ``svc`` it comes from."""
    try:
        yield
    except InputError as exc:
        if exc.field not in _SERVICE_FIELD:
            raise
        raise InputError(f"service {svc} on {platform.id}: {exc.problem}", value=exc.value, allowed=exc.allowed,
                         field=f"workload.inference[{svc}].{_SERVICE_FIELD[exc.field]}") from None


def request_level_check(arrival_t_s: np.ndarray, service_s: np.ndarray, replicas: int, batch: int) -> dict:
    """Replay requests through ``replicas`` x ``batch`` slots, first come first served.

    ``arrival_t_s`` [s] sorted; ``service_s`` [s] time each request holds a slot
    (e.g. TTFT + output tokens x TPOT). Returns the measured busy share of the
    slots over the window (work spilling past the last arrival excluded), the fluid estimate (arrival rate x mean
    service /
    slots), and queueing delay percentiles [s].
    """
    a = np.asarray(arrival_t_s, dtype=np.float64)
    s = np.asarray(service_s, dtype=np.float64)
    if a.shape != s.shape or a.size == 0:
        raise InputError("arrivals and service times must be equal-length, non-empty arrays", field="service_s")
    slots = int(replicas) * int(batch)
    if slots < 1:
        raise InputError("need at least one slot", field="replicas", value=replicas)
    free = [0.0] * slots
    wait = np.empty(a.size)
    pop, push = heapq.heappop, heapq.heappush
    for i, (t, d) in enumerate(zip(a.tolist(), s.tolist(), strict=True)):
        f = pop(free)
        start = t if t > f else f
        wait[i] = start - t
        push(free, start + d)
    span = float(a[-1] - a[0]) or 1.0
    start = a + wait
    busy_in_window = np.clip(start + s, None, a[-1]) - np.clip(start, None, a[-1])
    return {
        "slots": slots,
        "fluid_utilisation": float(s.sum() / (span * slots)),
        "measured_utilisation": float(busy_in_window.sum() / (span * slots)),
        "wait_p50_s": float(np.percentile(wait, 50)),
        "wait_p99_s": float(np.percentile(wait, 99)),
        "wait_max_s": float(wait.max()),
    }


def served_tokens(demand: pd.DataFrame, services: pd.DataFrame, need: pd.DataFrame, gpus_busy_inference: np.ndarray,
                  target_utilisation: float = TARGET_REPLICA_UTILISATION, platform: Platform | None = None,
                  precision: str = "fp8", params: PerfParams | None = None,
                  facility_params: FacilityParams | None = None) -> pd.DataFrame:
    """What the GPUs granted to inference served, per service and step.

    ``need`` is ``inference_gpus_needed(demand, ...)``; ``gpus_busy_inference`` [GPU] what the cluster granted
    of the GPUs the autoscaler held (``gpus_held``; without an autoscaler, ``gpus_needed``), each service getting
    that share of its held GPUs. Granted replicas run at up to ``1 / target_utilisation`` of their sized load.
    Columns per service:
    ``__output_tokens_served_per_s``, ``__input_tokens_served_per_s``, ``__capacity_output_tokens_per_s``
    [tokens/s] and ``__gpus_busy`` [GPU]. A disaggregated service (``platform`` needed) serves what the
    granted share of both pools carries (:mod:`dctwin.serving.disagg_fluid`) and adds ``__prefill_gpus_busy``,
    ``__decode_gpus_busy`` (held by each pool), ``__gpus_idle_held`` (held but idle), ``__kv_link_gpus_sending``
    (prefill GPUs whose link sends KV caches, time mean) [GPU] and ``__it_power_kw`` [kW]; all add up over pools.
    """
    held = _held(need, "gpus_needed", "gpus_held").astype(float)
    granted_frac = np.minimum(1.0, np.divide(gpus_busy_inference, held, out=np.zeros(len(held)), where=held > 0))
    cols: dict[str, np.ndarray] = {}
    for name, row in services.iterrows():
        out_tok = demand[f"{name}__output_tokens_per_s"].to_numpy()
        if _disaggregated(row):
            if platform is None:
                raise InputError("a disaggregated service needs the platform to size its pools", field="platform")
            cols.update(_disaggregated_served(name, row, demand, need, granted_frac, platform, precision, params,
                                              facility_params))
            continue
        svc_held, svc_need = _held(need, f"{name}__gpus", f"{name}__gpus_held"), need[f"{name}__gpus"].to_numpy()
        capacity_frac = granted_frac * np.divide(svc_held, svc_need, out=np.ones(len(held)), where=svc_need > 0) \
            / target_utilisation
        served = np.minimum(1.0, capacity_frac)
        cols[f"{name}__output_tokens_served_per_s"] = out_tok * served
        cols[f"{name}__input_tokens_served_per_s"] = demand[f"{name}__input_tokens_per_s"].to_numpy() * served
        cols[f"{name}__capacity_output_tokens_per_s"] = out_tok * capacity_frac
        cols[f"{name}__gpus_busy"] = svc_held * granted_frac
    return pd.DataFrame(cols)


def _held(need: pd.DataFrame, needed: str, held: str) -> np.ndarray:
    """The autoscaler's held column of ``need`` if it has one, else the needed column."""
    return need[held if held in need.columns else needed].to_numpy()


def _disaggregated_served(name: str, row: pd.Series, demand: pd.DataFrame, need: pd.DataFrame,
                          granted_frac: np.ndarray, platform: Platform, precision: str, params: PerfParams | None,
                          facility_params: FacilityParams | None) -> dict[str, np.ndarray]:
    """Served tokens, GPUs, busy shares and IT power of a disaggregated service's granted pools per step."""
    from dctwin.serving.disagg_fluid import PoolSizes, pool_loads

    perf = disaggregated_unit(name, row, platform, precision, params)
    n_pre = _held(need, f"{name}__prefill_units", f"{name}__prefill_units_held")   # the pools as held
    n_dec = _held(need, f"{name}__decode_units", f"{name}__decode_units_held")
    sizes = PoolSizes(n_pre, n_dec, n_pre * int(row["prefill_gpus"]), n_dec * int(row["decode_gpus"]))
    g = granted_frac
    out_req = float(row["mean_output_tokens"])
    capacity = g * np.minimum(n_pre * perf.prefill_unit_requests_per_s * out_req,
                              n_dec * perf.decode_tokens_per_s)
    out_tok = demand[f"{name}__output_tokens_per_s"].to_numpy()
    served_out = np.minimum(out_tok, capacity)
    frac = np.divide(served_out, out_tok, out=np.ones(len(out_tok)), where=out_tok > 0)
    loads = pool_loads(perf, sizes, g, served_out, out_req, platform, facility_params)
    return {f"{name}__output_tokens_served_per_s": served_out,
            f"{name}__input_tokens_served_per_s": demand[f"{name}__input_tokens_per_s"].to_numpy() * frac,
            f"{name}__capacity_output_tokens_per_s": capacity, f"{name}__gpus_busy": sizes.gpus * g,
            f"{name}__prefill_gpus_busy": sizes.prefill_gpus * g, f"{name}__decode_gpus_busy": sizes.decode_gpus * g,
            f"{name}__gpus_idle_held": loads.idle_gpus,
            f"{name}__kv_link_gpus_sending": sizes.prefill_gpus * g * loads.kv_link_busy,
            f"{name}__it_power_kw": loads.it_power_kw}


def idle_held_gpus(served: pd.DataFrame, n_steps: int) -> np.ndarray:
    """GPUs that disaggregated pools hold but leave idle, summed over services, per step [GPU] (zeros without)."""
    cols = [c for c in served.columns if c.endswith("__gpus_idle_held")]
    return served[cols].to_numpy(dtype=float).sum(axis=1) if cols else np.zeros(n_steps)
