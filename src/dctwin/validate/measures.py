"""Measures of the validation cases: each runs part of the twin and returns the modelled figure.

Every measure calls the public API of the subsystem it checks (perf,
serving, cluster, workload, facility); none re-implements a model. Heavy
runs shared by several cases (a trace replay, a cluster run) are cached.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.validate.cases import measure

__all__ = ["alibaba_replay", "azure_comparison", "llama3_run"]


# --- performance model ---------------------------------------------------------------------------

@measure("training_tflops_per_gpu")
def training_tflops_per_gpu(platform: str, model: str, n_gpus: int, precision: str, global_batch_tokens: float,
                            seq_tokens: int, tp: int, pp: int, dp: int) -> float:
    """Model TFLOP/s per GPU of a pre-training run (``dctwin.perf.training_perf``) [TFLOP/s]."""
    from dctwin.perf import training_perf
    return training_perf(get_platform(platform), model, n_gpus, precision, global_batch_tokens=global_batch_tokens,
                         tp=tp, pp=pp, dp=dp, seq_tokens=seq_tokens).tflops_per_gpu


def _training_run(platform: str, model: str, n_gpus: int, precision: str, global_batch_tokens: float,
                  seq_tokens: int, mode: str = "pretrain", **layout):
    from dctwin.perf import training_perf
    return training_perf(get_platform(platform), model, n_gpus, precision, global_batch_tokens=global_batch_tokens,
                         seq_tokens=seq_tokens, mode=mode, **layout)


@measure("training_samples_per_s")
def training_samples_per_s(**run) -> float:
    """Sequences per second of a training or fine-tuning run, automatic layout unless given [1/s]."""
    return _training_run(**run).tokens_per_s / run["seq_tokens"]


@measure("training_tokens_per_s_per_gpu")
def training_tokens_per_s_per_gpu(**run) -> float:
    """Tokens per second per GPU of a training or fine-tuning run, automatic layout unless given [token/s/GPU]."""
    return _training_run(**run).tokens_per_s / run["n_gpus"]


@measure("training_throughput_ratio")
def training_throughput_ratio(numerator: dict, denominator: dict) -> float:
    """Throughput of run ``numerator`` over run ``denominator`` [-] (e.g. H200 over H100, 64 over 8 GPUs)."""
    return _training_run(**numerator).tokens_per_s / _training_run(**denominator).tokens_per_s


@measure("training_per_gpu_ratio")
def training_per_gpu_ratio(numerator: dict, denominator: dict) -> float:
    """Model TFLOP/s per GPU of run ``numerator`` over run ``denominator`` [-] (strong-scaling efficiency)."""
    return _training_run(**numerator).tflops_per_gpu / _training_run(**denominator).tflops_per_gpu


@measure("inference_offline_tokens_per_s")
def inference_offline_tokens_per_s(platform: str, model: str, n_gpus: int, precision: str,
                                   input_tokens: float | None = None, output_tokens: float | None = None,
                                   gpus_per_replica: int | None = None, software: str = "2024", pp: int = 1) -> float:
    """Offline output tokens/s of ``n_gpus`` GPUs (``dctwin.perf.inference_perf``), MLPerf request shape by default;
    ``gpus_per_replica`` fixes the tensor-parallel size (default: the model's best), ``pp`` the pipeline stages
    per replica (tp x pp GPUs); ``software``: the serving stack the run used
    (``dctwin.perf.params.SERVING_SOFTWARE``)."""
    from dctwin.perf.inference import offline_tokens_per_s
    return offline_tokens_per_s(get_platform(platform), model, n_gpus, precision, input_tokens, output_tokens,
                                gpus_per_replica, software, pp=pp)


@measure("mlperf_server_tpot_s")
def mlperf_server_tpot_s(platform: str, model: str, gpus_per_replica: int, replicas: int, precision: str,
                         samples_per_s: float, mean_latency_s: float, output_tokens: float,
                         input_tokens: float | None = None, software: str = "2024", pp: int = 1) -> float:
    """Mean time per output token [s] of an MLPerf Server run at its measured load, from the step roofline
    (``software``: the serving stack the run used, ``dctwin.perf.params.SERVING_SOFTWARE``; ``pp``: pipeline
    stages per replica of ``gpus_per_replica`` x ``pp`` GPUs).

    Little's law gives the sequences in flight per replica (completed samples/s x mean latency / replicas);
    each step decodes them and prefills the prompts arriving during it (rate x prompt x step), so the step
    time is the fixed point of ``StepCost.step_time_s``; the published mean TPOT is not an input.
    """
    from dctwin.perf.models import get_model
    from dctwin.perf.params import packaged_perf_params
    from dctwin.perf.roofline import step_cost
    params = packaged_perf_params().for_serving_software(software)
    x = input_tokens or params.inference["mlperf_mean_input_tokens"]
    cost = step_cost(get_platform(platform), get_model(model), int(gpus_per_replica), precision, params=params, pp=pp)
    rate = samples_per_s / replicas                             # requests per replica [1/s]
    batch = rate * mean_latency_s
    t = 0.0
    for _ in range(200):
        pre = rate * x * t
        t_new = float(cost.step_time_s(batch, batch * (x + output_tokens / 2.0), pre, pre * x))
        if abs(t_new - t) <= 1e-9 * t_new:
            break
        t = t_new
    return t_new


@measure("inference_throughput_ratio")
def inference_throughput_ratio(numerator: dict, denominator: dict) -> float:
    """Offline throughput of deployment ``numerator`` over ``denominator`` [-] (e.g. H200 over H100)."""
    return inference_offline_tokens_per_s(**numerator) / inference_offline_tokens_per_s(**denominator)


@measure("inference_prefill_time_ratio")
def inference_prefill_time_ratio(numerator: dict, denominator: dict) -> float:
    """Prefill step of one prompt, ``numerator`` over ``denominator`` [-] (``dctwin.perf.roofline.step_cost``).

    Each side: platform, model, gpus_per_replica, precision, prompt_tokens.
    """
    from dctwin.perf.models import get_model
    from dctwin.perf.roofline import step_cost

    def t(platform: str, model: str, gpus_per_replica: int, precision: str, prompt_tokens: float) -> float:
        cost = step_cost(get_platform(platform), get_model(model), int(gpus_per_replica), precision)
        return float(cost.step_time_s(0, 0, prompt_tokens, prompt_tokens ** 2))
    return t(**numerator) / t(**denominator)


@measure("disaggregated_replay_vs_steady")
def disaggregated_replay_vs_steady(platform: str, model: str, prefill_gpus: int, decode_gpus: int, precision: str,
                                   input_tokens: int, output_tokens: int, requests: int) -> tuple[float, float]:
    """(output tokens/s of a saturating burst replayed request by request, ``disaggregated_perf``'s steady rate).

    The replay uses the replica sizes the steady-state model chose [token/s].
    """
    import numpy as np

    from dctwin.perf import disaggregated_perf
    from dctwin.serving import Deployment, simulate_disaggregated
    steady = disaggregated_perf(get_platform(platform), model, prefill_gpus, decode_gpus, precision, input_tokens,
                                output_tokens)
    gp, gd = steady.prefill_gpus_per_replica, steady.decode_gpus_per_replica
    n = int(requests)
    r = simulate_disaggregated(Deployment(platform, model, prefill_gpus // gp, gp, precision),
                               Deployment(platform, model, decode_gpus // gd, gd, precision),
                               np.zeros(n), np.full(n, int(input_tokens)), np.full(n, int(output_tokens)))
    return n * float(output_tokens) / r.span_s, steady.tokens_per_s


@lru_cache(maxsize=4)
def _disaggregated_fluid_and_replay(platform: str, model: str, prefill_gpus: int, decode_gpus: int, precision: str,
                                    input_tokens: int, output_tokens: int, tpot_ms: float,
                                    output_tokens_per_s: float, seconds: float) -> dict:
    """Year-scale pools (``serving.disagg_fluid``) for a steady demand, and the same pools replaying
    Poisson arrivals of that demand request by request (seeded)."""
    from dctwin.perf import disaggregated_perf
    from dctwin.serving import Deployment, simulate_disaggregated
    from dctwin.serving.disagg_fluid import pool_loads, pool_sizes
    plat = get_platform(platform)
    perf = disaggregated_perf(plat, model, prefill_gpus, decode_gpus, precision, input_tokens, output_tokens,
                              tpot_target_s=tpot_ms / 1e3)
    load = np.array([float(output_tokens_per_s)])
    sizes = pool_sizes(perf, prefill_gpus, decode_gpus, load, float(output_tokens))
    fluid = pool_loads(perf, sizes, np.ones(1), load, float(output_tokens), plat)
    rate = float(output_tokens_per_s) / output_tokens
    t = np.cumsum(np.random.default_rng(0).exponential(1.0 / rate, int(rate * seconds)))
    gp, gd = perf.prefill_gpus_per_replica, perf.decode_gpus_per_replica
    r = simulate_disaggregated(Deployment(platform, model, int(sizes.prefill_gpus[0]) // gp, gp, precision),
                               Deployment(platform, model, int(sizes.decode_gpus[0]) // gd, gd, precision),
                               t, np.full(t.size, int(input_tokens)), np.full(t.size, int(output_tokens)))
    return {"j_per_output_token": (float(fluid.it_power_kw[0]) * 1e3 / float(output_tokens_per_s),
                                   r.energy_j_per_token),
            "prefill_busy": (float(fluid.prefill_busy[0]), r.prefill.busy_fraction * r.prefill.span_s / r.span_s)}


@measure("disaggregated_fluid_vs_replay")
def disaggregated_fluid_vs_replay(quantity: str, **run) -> tuple[float, float]:
    """(year-scale fluid pools, request-level replay of the same load and pools): ``quantity`` is
    'j_per_output_token' (IT energy of both pools per output token [J]) or 'prefill_busy' (share of prefill GPU
    time in steps [-])."""
    out = _disaggregated_fluid_and_replay(**run)
    if quantity not in out:
        raise InputError("unknown quantity", field="quantity", value=quantity, allowed=", ".join(out))
    return out[quantity]


# --- serving: request-level replay vs fluid model -------------------------------------------------

@lru_cache(maxsize=8)
def azure_comparison(trace: str, platform: str, model: str, replicas: int, gpus_per_replica: int, precision: str,
                     max_prefill_tokens: int, interval_s: float):
    """Both serving models on one Azure LLM trace (cached per deployment)."""
    from dctwin.serving import Deployment
    from dctwin.serving.compare import compare_models
    from dctwin.workload.traces import packaged_trace, read_azure_llm_trace
    df = read_azure_llm_trace(packaged_trace(f"AzureLLMInferenceTrace_{trace}.csv.gz"))
    dep = Deployment(platform, model, int(replicas), int(gpus_per_replica), precision, int(max_prefill_tokens))
    return compare_models(dep, df["t_s"].to_numpy(), df["input_tokens"].to_numpy(), df["output_tokens"].to_numpy(),
                          interval_s=float(interval_s))


@measure("serving_fluid_vs_request_level")
def serving_fluid_vs_request_level(trace: str, metric: str, platform: str, model: str, replicas: int,
                                   gpus_per_replica: int, precision: str = "fp8", max_prefill_tokens: int = 8192,
                                   interval_s: float = 60.0) -> tuple[float, float]:
    """(fluid-model figure, request-level figure) of ``metric`` on the trace (see ``serving.compare.METRICS``)."""
    from dctwin.serving.compare import METRICS
    if metric not in METRICS:
        raise InputError("unknown serving metric", field="metric", value=metric, allowed=", ".join(METRICS))
    c = azure_comparison(trace, platform, model, replicas, gpus_per_replica, precision, max_prefill_tokens,
                         interval_s)
    return c.fluid[metric], c.request_level[metric]


# --- reliability: Llama 3 405B pre-training -------------------------------------------------------

@lru_cache(maxsize=4)
def llama3_run(n_gpus: int, days: int, checkpoint_s: float, spare_fraction: float, seeds: tuple[int, ...]):
    """One synchronous job on ``n_gpus`` H100 for ``days``, once per seed (``dctwin.cluster.simulate_cluster``)."""
    from dctwin.cluster import simulate_cluster
    from dctwin.config.cluster import SchedulerConfig
    from dctwin.timeline import Timeline
    tl = Timeline(dt.date(2024, 1, 1), 900, int(days) * 96)
    online = np.full(tl.n_steps, int(n_gpus * (1 + spare_fraction)))
    jobs = pd.DataFrame({"job_id": [0], "kind": ["pretrain"], "tenant": ["meta"], "submit_s": [0.0],
                         "gpus": [int(n_gpus)], "duration_s": [4 * days * 86_400.0], "priority": [10],
                         "deferrable": [False], "model": ["llama-3-405b"], "max_wait_s": [np.inf]})
    cfg = SchedulerConfig(policy="fifo", checkpoint={"policy": "young_daly", "cost_s": float(checkpoint_s)})
    return [simulate_cluster(cfg, tl, online, get_platform("hgx-h100"), jobs, np.zeros(tl.n_steps), s).stats
            for s in seeds]


# Checkpoint stall: Llama 3 405B state (405e9 params x 14 B) over Tectonic's 2 TB/s sustained (dossier 5a);
# 2% hot spares (BLOOM ran ~1% spare nodes, dossier 5c); five seeds.
_LLAMA3 = {"n_gpus": 16_384, "days": 54, "checkpoint_s": 405e9 * 14 / 2e12, "spare_fraction": 0.02,
           "seeds": (1, 2, 3, 4, 5)}


@measure("llama3_interruptions")
def llama3_interruptions(components: list[str] | None = None, share: bool = False) -> float:
    """Mean unexpected interruptions (of ``components``, all if None) over seeds; or their share of all [-]."""
    stats = llama3_run(**_LLAMA3)
    vals = []
    for st in stats:
        by = st["interruptions_by_component"]
        n = sum(by.get(c, 0) for c in components) if components else st["interruptions"]
        vals.append(n / st["interruptions"] if share else n)
    return float(np.mean(vals))


@measure("llama3_effective_training_time")
def llama3_effective_training_time() -> float:
    """Mean effective training time ratio over seeds [-]."""
    return float(np.mean([st["effective_training_time_frac"] for st in llama3_run(**_LLAMA3)]))


# --- scheduling: Alibaba PAI GPU trace 2023 ----------------------------------------------------------

@lru_cache(maxsize=8)
def alibaba_replay(policy: str, latency: str = "none", gang: str = "none", node_stride: int = 1):
    """The openb pod list on its own nodes: (trace pods, simulated jobs, GPUs, span [s]).

    Each node is one scale-up domain (a pod never spans nodes under ``gang='domain'``).
    ``latency='held_out'``: the scheduler attempt model (``dctwin.cluster.latency``) is fitted
    to the recorded waits of the even-numbered GPU pods (in creation order) only; the odd ones
    are the check. ``node_stride`` k > 1 keeps every k-th node only (the same mix of node sizes on a
    smaller cluster: a what-if at a load where pods compete for GPUs; the log's own load peaks at 70 GPUs).
    """
    from dctwin.cluster import simulate_cluster
    from dctwin.cluster.latency import fit_latency
    from dctwin.config.cluster import SchedulerConfig
    from dctwin.timeline import Timeline
    from dctwin.workload.traces import packaged_trace, read_alibaba_nodes, read_alibaba_pods
    pods = read_alibaba_pods(packaged_trace("openb_pod_list_default.csv.gz"))
    nodes = read_alibaba_nodes(packaged_trace("openb_node_list_gpu_node.csv.gz"))["gpus"].to_numpy()[::node_stride]
    gpus = int(nodes.sum())
    step_s = 3600
    span = float((pods["submit_s"] + pods["duration_s"]).max())
    tl = Timeline(dt.date(2023, 1, 1), step_s, int(np.ceil(span / step_s)) + 1)
    jobs = pods.sort_values("submit_s", kind="stable").reset_index(drop=True)
    jobs["job_id"] = np.arange(len(jobs))
    model = fit_latency(_trace_waits()[0::2]) if latency == "held_out" else None
    cfg = SchedulerConfig(policy=policy, failures={"enabled": False}, checkpoint={"policy": "none"}, gang_rule=gang)
    res = simulate_cluster(cfg, tl, np.full(tl.n_steps, gpus), get_platform("hgx-h100"), jobs,
                           np.zeros(tl.n_steps), 0, latency=model, domains=[int(g) for g in nodes if g > 0])
    return pods, res, gpus, span


def _trace_waits() -> np.ndarray:
    """Recorded waits of the GPU pods that were scheduled, in the reader's (creation-time) order [s]."""
    from dctwin.workload.traces import packaged_trace
    raw = pd.read_csv(packaged_trace("openb_pod_list_default.csv.gz"))
    raw = raw[(raw["num_gpu"] >= 1) & raw["scheduled_time"].notna()]
    raw = raw.sort_values("creation_time", kind="stable")
    return (raw["scheduled_time"] - raw["creation_time"]).to_numpy(dtype=float)


@measure("alibaba_queue_wait")
def alibaba_queue_wait(statistic: str = "mean", policy: str = "fifo", latency: str = "none",
                       gang: str = "none") -> tuple[float, float]:
    """(simulated, recorded) queue wait of the GPU pods [s]: 'mean' or 'pNN'.

    With ``latency='held_out'`` both sides are the odd-numbered pods, which the latency fit did not see.
    ``gang='domain'``: each pod inside one of the trace's nodes (``scheduler.gang_rule``).
    """
    _, res, _, _ = alibaba_replay(policy, latency, gang)
    sim = res.jobs["wait_s"].to_numpy(dtype=float)
    rec = _trace_waits()
    if latency == "held_out":
        sim, rec = sim[1::2], rec[1::2]
    if statistic == "mean":
        return float(np.nanmean(sim)), float(rec.mean())
    q = float(statistic.lstrip("p"))
    return float(np.nanpercentile(sim, q)), float(np.percentile(rec, q))


@measure("alibaba_gpu_occupancy")
def alibaba_gpu_occupancy(policy: str = "fifo") -> tuple[float, float]:
    """(simulated, recorded) time-mean share of the cluster's GPUs allocated to pods [-].

    Recorded: sum over pods of GPUs x (deletion - scheduled) / (GPUs x span),
    with a GPU-sharing pod counted as one GPU, as the trace reader maps it.
    """
    pods, res, gpus, span = alibaba_replay(policy)
    recorded = float((pods["gpus"] * pods["duration_s"]).sum() / (gpus * span))
    j = res.jobs
    start = j["start_s"].to_numpy(dtype=float)
    end = np.minimum(np.nan_to_num(j["end_s"].to_numpy(dtype=float), nan=span), span)
    sim = float(np.nansum(j["gpus"].to_numpy() * np.clip(end - start, 0, None)) / (gpus * span))
    return sim, recorded


# --- facility: whole-pipeline runs of a packaged scenario -----------------------------------------

_LOSS_AND_COOLING = ("utility_transformer_loss_kw", "transformer_loss_kw", "switchgear_loss_kw", "ups_loss_kw",
                     "distribution_loss_kw", "cdu_pump_kw", "facility_pump_kw", "dry_cooler_fan_kw", "adiabatic_kw",
                     "chiller_kw", "crah_fan_kw", "humidifier_kw", "ancillary_kw", "heat_pump_kw")


@lru_cache(maxsize=4)
def scenario_run(scenario: str, duration_days: float | None = None):
    """``dctwin.simulate`` of a packaged scenario, optionally shortened to ``duration_days`` (cached)."""
    import dctwin
    from dctwin.config import load_scenario, scenario_from_dict
    sc = load_scenario(scenario)
    if duration_days is not None:
        doc = sc.model_dump(mode="json")
        doc["simulation"] = {**doc["simulation"], "duration_days": float(duration_days)}
        sc = scenario_from_dict(doc)
    return dctwin.simulate(sc)


@measure("facility_energy_imbalance")
def facility_energy_imbalance(scenario: str = "borlange-2027", duration_days: float | None = 14) -> float:
    """Largest relative imbalance over all steps of (a) grid power vs IT + every loss and cooling load and
    (b) grid power vs heat rejected + heat delivered [-]."""
    ts = scenario_run(scenario, duration_days).timeseries
    grid = ts["grid_power_kw"].to_numpy(dtype=float)
    inputs = ts["it_power_kw"].to_numpy(dtype=float) + ts[list(_LOSS_AND_COOLING)].sum(axis=1).to_numpy(dtype=float)
    heat = ts["heat_rejected_kw"].to_numpy(dtype=float) + ts["heat_delivered_kw"].to_numpy(dtype=float)
    scale = np.maximum(grid, 1e-9)
    return float(max(np.max(np.abs(grid - inputs) / scale), np.max(np.abs(grid - heat) / scale)))


@measure("facility_pue")
def facility_pue(scenario: str = "borlange-2027", duration_days: float | None = None) -> float:
    """PUE of the run (ISO/IEC 30134-2; heat-pump electricity for district heating excluded) [-]."""
    return float(scenario_run(scenario, duration_days).kpis["pue"])


# --- IT side against real telemetry: Cornell BioHPC GPU power and utilisation -------------------------------

@measure("biohpc_gpu_power_fit")
def biohpc_gpu_power_fit(period: str = "check", statistic: str = "cv_rmse", model: str = "calibrated") -> float:
    """Hourly CV(RMSE) or |NMBE| [%] of dctwin's GPU power model against the measured total GPU power of the
    shipped Cornell BioHPC excerpt (dctwin.telemetry.itside), over the calibration or the held-out check weeks."""
    from dctwin.telemetry.itside import biohpc_check

    errors = biohpc_check().errors.set_index(["period", "model"])
    value = float(errors.loc[(period, model), "cv_rmse_pct" if statistic == "cv_rmse" else "nmbe_pct"])
    return value if statistic == "cv_rmse" else abs(value)
