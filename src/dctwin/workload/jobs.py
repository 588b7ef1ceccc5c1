"""Seeded, vectorised generator of the training-side job table (pre-training, fine-tuning, evaluation, batch).

Arrival rates are sized so the offered load equals the configured training
GPUs × target utilisation over the span:

    offered GPU·s = share_of_gpus × mean_utilisation × total_gpus × span_s

split between pre-training runs (``pretrain.share_of_training``) and
development jobs. Pre-training runs last 6·N·D / (GPUs × peak × MFU)
(dossier §6a); development jobs follow the size and duration distributions
fitted to the Acme LLM clusters (``data/job_fits.yaml``), arriving as a
Poisson process with daily and weekly cycles whose amplitudes are fitted to
the Alibaba trace.

Development-job durations are taken as measured on the Acme clusters (A100
GPUs), not rescaled to the site's GPUs: users of faster GPUs tend to run
larger experiments in similar wall-clock time, and the offered GPU·s, which
sets the load, is what the sizing above controls. Kinds: jobs of at least
``dev.finetune_min_gpus`` GPUs are fine-tuning; smaller ones are evaluation,
or deferrable batch work with probability ``dev.batch_share``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dctwin.catalog.platform import Platform
from dctwin.config.workload import DevJobsConfig, PretrainConfig, WorkloadConfig
from dctwin.errors import InputError
from dctwin.rng import stream
from dctwin.timeline import Timeline
from dctwin.workload.dists import clipped_lognormal_mean, size_probs
from dctwin.workload.params import job_fits, model_params
from dctwin.workload.schema import PRIORITY_OF_KIND, empty_jobs, finish_jobs, validate_jobs
from dctwin.workload.traces import read_job_table

if TYPE_CHECKING:
    from dctwin.perf.params import PerfParams

__all__ = [
    "PRETRAIN_TENANT", "dev_job_model", "diurnal_poisson_times", "generate_jobs", "pretrain_gpus", "pretrain_kpis",
    "pretrain_perf", "pretrain_run_duration_s",
]

PRETRAIN_TENANT = "pretraining"
_KINDS = np.array(["pretrain", "finetune", "eval", "batch"])


def pretrain_perf(platform: Platform, cfg: PretrainConfig, n_gpus: int, params: PerfParams | None = None):
    """``dctwin.perf.training_perf`` of one pre-training run as configured (mfu: null): layout, batch, schedule;
    ``params``: the run's performance constants (None: packaged)."""
    from dctwin.perf import training_perf  # imported late: perf is a sibling model, not a dependency of config

    lay = cfg.layout
    fixed = {} if lay == "auto" else {"tp": lay.tp, "pp": lay.pp, "dp": lay.dp, "cp": lay.cp, "ep": lay.ep}
    try:
        return training_perf(platform, cfg.model, n_gpus, cfg.precision, global_batch_tokens=cfg.global_batch_tokens,
                             seq_tokens=cfg.seq_tokens, micro_batch=cfg.micro_batch,
                             schedule=None if cfg.schedule == "auto" else cfg.schedule,
                             recompute=None if cfg.recompute == "auto" else cfg.recompute, params=params,
                             attention_precision=cfg.attention_precision, cuda_graphs=cfg.cuda_graphs,
                             fp8_params=cfg.fp8_params, grad_precision=cfg.grad_precision,
                             fp8_activation_store=cfg.fp8_activation_store,
                             distributed_optimizer=cfg.distributed_optimizer,
                             packed_sample_tokens=cfg.packed_sample_tokens, **fixed)
    except InputError as exc:  # named by the scenario field it came from, where the perf model names one
        sub = f"layout.{exc.field}" if exc.field in ("tp", "pp", "dp", "cp", "ep") else exc.field
        known = sub is not None and (sub.startswith("layout") or sub in type(cfg).model_fields)
        raise InputError(f"pre-training run of {cfg.model} on {n_gpus} x {platform.gpu_name}: "
                         f"{exc.problem if known else exc}", field="workload.training.pretrain" + (
                             f".{sub}" if known else ""), value=exc.value if known else None,
                         allowed=exc.allowed if known else None) from None


def pretrain_gpus(platform: Platform, cfg: PretrainConfig, gpu_cap: int) -> int:
    """GPUs of one pre-training run: a fixed layout's own count, else ``gpus`` in whole scale-up domains [-]."""
    if cfg.layout != "auto":
        if cfg.gpus > gpu_cap:
            raise InputError("the fixed pre-training layout needs more GPUs than the site gives training",
                             field="workload.training.pretrain.layout", value=cfg.gpus, allowed=f"<= {gpu_cap}")
        return cfg.gpus
    domain = max(1, platform.scale_up_domain_gpus)
    g = min(cfg.gpus, gpu_cap)
    return (g // domain) * domain if g >= domain else g


def pretrain_run_duration_s(platform: Platform, cfg: PretrainConfig, n_gpus: int,
                            params: PerfParams | None = None) -> float:
    """Run time of one pre-training run of ``cfg.tokens_t`` tokens on ``n_gpus`` GPUs [s].

    With ``cfg.mfu`` set: FLOPs = 6 · N_active · D (dossier §6a) over n_gpus × dense
    peak × MFU. With ``cfg.mfu`` None: tokens / throughput of :func:`pretrain_perf`.
    """
    if cfg.mfu is None:
        return cfg.tokens_t * 1e12 / pretrain_perf(platform, cfg, n_gpus, params).tokens_per_s
    _total_b, active_b = model_params(cfg.model)
    try:
        peak_flop_s = platform.peak_tflops(cfg.precision) * 1e12
    except ValueError as exc:
        raise InputError(str(exc), field="workload.training.pretrain.precision", value=cfg.precision,
                         allowed="fp8, bf16") from None
    flops = 6.0 * active_b * 1e9 * cfg.tokens_t * 1e12
    return flops / (n_gpus * peak_flop_s * cfg.mfu)


def pretrain_kpis(platform: Platform, workload: WorkloadConfig, total_gpus: int,
                  params: PerfParams | None = None) -> dict[str, float | str]:
    """What the run's pre-training throughput rests on: the layout chosen (or 'flat MFU') and the MFU [-]."""
    tr = workload.training
    cap = max(1, int(np.floor(tr.share_of_gpus * total_gpus)))
    pre = tr.pretrain
    if pre.share_of_training <= 0 or workload.jobs_path is not None:
        return {}
    if pre.mfu is not None:
        return {"pretrain_layout": "flat MFU (workload.training.pretrain.mfu)", "pretrain_mfu": float(pre.mfu)}
    r = pretrain_perf(platform, pre, pretrain_gpus(platform, pre, cap), params)
    return {"pretrain_layout": f"{r.layout.label()} on {r.gpus_used} GPUs", "pretrain_mfu": float(r.mfu)}


def dev_job_model(cfg: DevJobsConfig, gpu_cap: int) -> dict[str, np.ndarray | float]:
    """Size classes of development jobs: probabilities, GPUs (capped), log-duration means, mean GPU·s per job.

    A class larger than the cap runs on the cap's GPUs for proportionally longer
    (``stretch``), so capping keeps each job's GPU·s.
    """
    fit = job_fits()["dev_jobs"][cfg.profile]
    size, dur = fit["size"], fit["duration"]
    k_max = int(size["k_max"])
    probs = size_probs(float(size["p_one_gpu"]), float(size["q"]), k_max)
    k = np.arange(k_max + 1)
    cap = max(1, min(cfg.max_gpus, gpu_cap))
    gpus = np.minimum(2**k, 2 ** int(np.floor(np.log2(cap)))).astype(np.int64)
    mu = float(dur["mu0"]) + float(dur["slope_per_doubling"]) * k
    sigma, max_s = float(dur["sigma"]), float(dur["max_s"])
    mean_d = clipped_lognormal_mean(mu, sigma, max_s)
    return {"probs": probs, "gpus": gpus, "stretch": 2.0**k / gpus, "mu": mu, "sigma": sigma, "max_s": max_s,
            "gpu_s_per_job": float(np.sum(probs * 2.0**k * mean_d))}


def diurnal_poisson_times(rng: np.random.Generator, mean_rate_per_s: float, span_s: float, amplitude: float,
                          peak_hour: float, weekend_factor: float = 1.0, start_weekday: int = 0) -> np.ndarray:
    """Sorted arrival times of a Poisson process on [0, span_s) with a daily and weekly cycle [s].

    Rate ∝ (1 + a·cos(2π(h − peak_hour)/24)) × (``weekend_factor`` on Saturday and
    Sunday, else 1), scaled so its mean over a week is ``mean_rate_per_s`` [1/s];
    ``start_weekday`` is the weekday of t = 0 (Monday = 0). Built by thinning a
    homogeneous process generated from cumulated exponential gaps, so the times
    come out sorted (no sort of n items).
    """
    week_mean = (5.0 + 2.0 * weekend_factor) / 7.0
    top = (1.0 + amplitude) * max(1.0, weekend_factor)
    rate_max = mean_rate_per_s * top / week_mean
    if rate_max <= 0 or span_s <= 0:
        return np.empty(0)
    chunks, last = [], 0.0
    while last < span_s:
        m = rate_max * (span_s - last)
        gaps = rng.exponential(1.0 / rate_max, int(m + 6 * np.sqrt(m) + 16))
        t = last + np.cumsum(gaps)
        chunks.append(t)
        last = float(t[-1])
    t = np.concatenate(chunks)
    t = t[t < span_s]
    h = (t % 86_400.0) / 3600.0
    weekday = (start_weekday + (t // 86_400.0).astype(np.int64)) % 7
    shape = (1.0 + amplitude * np.cos(2 * np.pi * (h - peak_hour) / 24.0)) * np.where(weekday >= 5, weekend_factor, 1.0)
    return t[rng.random(t.size) * top < shape]


def _stochastic_round(rng: np.random.Generator, x: float) -> int:
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def _codes(labels: list[str]) -> tuple[list[str], dict[str, int]]:
    cats = list(dict.fromkeys(labels))
    return cats, {c: i for i, c in enumerate(cats)}


def generate_jobs(workload: WorkloadConfig, timeline: Timeline, total_gpus: int, platform: Platform,
                  seed: int, *, perf_params: PerfParams | None = None) -> pd.DataFrame:
    """The job table of a run: replayed from ``workload.jobs_path`` or generated with ``stream(seed, "jobs")``.

    ``total_gpus`` is the site's GPU count; the span is ``timeline.n_steps × step_s`` [s]; ``perf_params``: the
    run's performance constants (pre-training run time when ``mfu`` is null; None: packaged).
    Replayed jobs submitted after the span are dropped.
    """
    span_s = float(timeline.n_steps * timeline.step_s)
    if workload.jobs_path is not None:
        jobs = read_job_table(workload.jobs_path)
        inside = jobs[jobs["submit_s"].to_numpy() < span_s].reset_index(drop=True)
        return validate_jobs(inside, file=str(workload.jobs_path))
    if total_gpus < 1:
        raise InputError("the site has no GPUs", field="total_gpus", value=total_gpus, allowed=">= 1")
    rng = stream(seed, "jobs")
    tr = workload.training
    train_gpus = tr.share_of_gpus * total_gpus
    budget_gpu_s = train_gpus * tr.mean_utilisation * span_s
    if budget_gpu_s <= 0:
        return empty_jobs()
    gpu_cap = max(1, int(np.floor(train_gpus)))
    pre, dev = tr.pretrain, tr.dev
    models = list(dict.fromkeys(x.model for x in workload.inference)) or [pre.model]
    tenant_cats, tenant_code = _codes(list(tr.tenants) + [PRETRAIN_TENANT])
    model_cats, model_code = _codes(models + [pre.model, ""])
    parts = []

    pre_part = _pretrain_part(platform, pre, gpu_cap, budget_gpu_s, span_s, rng, tenant_code, model_code,
                              perf_params)
    if pre_part is not None:
        parts.append(pre_part)
    dev_budget = (1.0 - (pre.share_of_training if parts else 0.0)) * budget_gpu_s
    if dev.profile_path is not None:
        return _finish(parts + [_profile_jobs(dev, dev_budget, span_s, gpu_cap, timeline, rng, tenant_code,
                                              tenant_cats, model_code, models)], tenant_cats, model_cats, tr)
    parts.append(_dev_part(dev, tr, dev_budget, span_s, gpu_cap, timeline, rng, tenant_code, model_code, models))
    return _finish(parts, tenant_cats, model_cats, tr)


def _pretrain_part(platform: Platform, pre: PretrainConfig, gpu_cap: int, budget_gpu_s: float, span_s: float,
                   rng: np.random.Generator, tenant_code: dict, model_code: dict,
                   params: PerfParams | None) -> dict | None:
    """Pre-training runs: evenly spread with jitter, token count log-normal between runs (None: no runs)."""
    g = pretrain_gpus(platform, pre, gpu_cap) if pre.share_of_training > 0 else 0
    if not (pre.share_of_training > 0 and g >= 1):
        return None
    if pre.mfu is None:  # the performance model may use fewer GPUs than given; the run holds only those
        g = pretrain_perf(platform, pre, g, params).gpus_used
    run_s = pretrain_run_duration_s(platform, pre, g, params)
    n_pre = _stochastic_round(rng, pre.share_of_training * budget_gpu_s / (g * run_s))
    spread = pre.tokens_spread
    mult = np.exp(spread * rng.standard_normal(n_pre) - 0.5 * spread**2)
    return {
        "kind": np.zeros(n_pre, np.int64), "tenant": np.full(n_pre, tenant_code[PRETRAIN_TENANT]),
        "submit_s": (np.arange(n_pre) + rng.random(n_pre)) * (span_s / max(n_pre, 1)),
        "gpus": np.full(n_pre, g, np.int64), "duration_s": run_s * mult,
        "model": np.full(n_pre, model_code[pre.model]),
    }


def _dev_part(dev: DevJobsConfig, tr, dev_budget: float, span_s: float, gpu_cap: int, timeline: Timeline,
              rng: np.random.Generator, tenant_code: dict, model_code: dict, models: list) -> dict:
    """Development jobs: diurnal Poisson arrivals, fitted sizes, size-dependent log-normal durations."""
    m = dev_job_model(dev, gpu_cap)
    fits = job_fits()
    amp = dev.diurnal_amplitude if dev.diurnal_amplitude is not None else fits["submission_diurnal"]["amplitude"]
    wkd = dev.weekend_factor if dev.weekend_factor is not None else fits["submission_weekly"]["weekend_factor"]
    submit = diurnal_poisson_times(rng, dev_budget / m["gpu_s_per_job"] / span_s, span_s, float(amp), dev.peak_hour,
                                   float(wkd), timeline.start.weekday())
    n_dev = submit.size
    cls = np.searchsorted(np.cumsum(m["probs"]), rng.random(n_dev) * m["probs"].sum(), side="right")
    cls = np.minimum(cls, len(m["probs"]) - 1)
    gpus = m["gpus"][cls]
    dur = np.clip(np.exp(m["mu"][cls] + m["sigma"] * rng.standard_normal(n_dev)), 1.0, m["max_s"]) * m["stretch"][cls]
    small_kind = np.where(rng.random(n_dev) < dev.batch_share, 3, 2)
    kind = np.where(gpus >= dev.finetune_min_gpus, 1, small_kind)
    tenant = np.asarray([tenant_code[x] for x in tr.tenants])[rng.integers(len(tr.tenants), size=n_dev)]
    model = np.asarray([model_code[x] for x in models])[rng.integers(len(models), size=n_dev)]
    model = np.where(kind == 3, model_code[""], model)
    return {"kind": kind, "tenant": tenant, "submit_s": submit, "gpus": gpus, "duration_s": dur, "model": model}


_KIND_WORDS = {"pretrain": 0, "finetune": 1, "sft": 1, "eval": 2, "evaluation": 2, "batch": 3}


def _profile_jobs(dev: DevJobsConfig, budget_gpu_s: float, span_s: float, gpu_cap: int, timeline: Timeline,
                  rng: np.random.Generator, tenant_code: dict, tenant_cats: list, model_code: dict,
                  models: list) -> dict:
    """Development jobs drawn from a fitted profile, the rate scaled so their GPU·s meet ``budget_gpu_s``."""
    from dctwin.workload.profile_gen import generate_from_profile, load_profile, mean_gpu_s_per_job, mean_jobs_per_s

    prof = load_profile(dev.profile_path)
    if prof["arrivals"]["groups_per_s"] <= 0:  # a run-time-only log: flat arrivals, rate from the budget
        prof = {**prof, "arrivals": {**prof["arrivals"], "groups_per_s": 1.0}}
    per_s = mean_jobs_per_s(prof) * mean_gpu_s_per_job(prof)
    scale = budget_gpu_s / (span_s * per_s) if per_s > 0 else 0.0
    start = timeline.start
    g = generate_from_profile(prof, span_s, rng, start_how=start.weekday() * 24, rate_scale=scale)
    cap = max(1, min(dev.max_gpus, gpu_cap))
    gpus = np.minimum(g["gpus"], cap)
    dur = g["duration_s"] * g["gpus"] / gpus  # a capped job keeps its GPU·s
    words = np.array([_KIND_WORDS.get(str(k).lower(), -1) for k in g["kind"]], dtype=np.int64)
    by_size = np.where(gpus >= dev.finetune_min_gpus, 1, 2)
    kind = np.where(words >= 0, words, by_size)
    for t in dict.fromkeys(g["tenant"]):
        if t not in tenant_code:
            tenant_code[t] = len(tenant_cats)
            tenant_cats.append(t)
    tenant = np.array([tenant_code[t] for t in g["tenant"]], dtype=np.int64)
    model = np.asarray([model_code[x] for x in models])[rng.integers(len(models), size=gpus.size)]
    return {"kind": kind, "tenant": tenant, "submit_s": g["submit_s"], "gpus": gpus, "duration_s": dur,
            "model": np.where(kind == 3, model_code[""], model)}


def _finish(parts: list[dict], tenant_cats: list, model_cats: list, tr) -> pd.DataFrame:
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    kind_idx = cols.pop("kind")
    prio = np.array([PRIORITY_OF_KIND[k] for k in _KINDS], dtype=np.int64)
    waits = np.array([tr.max_wait_h.get(k, np.inf) * 3600.0 for k in _KINDS])
    cols.update(kind=(kind_idx, list(_KINDS)), tenant=(cols["tenant"], tenant_cats),
                model=(cols["model"], model_cats), priority=prio[kind_idx], deferrable=kind_idx == 3,
                max_wait_s=waits[kind_idx])
    return finish_jobs(cols)
