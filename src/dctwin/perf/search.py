"""The fastest layout that fits, and the public ``training_perf`` entry point.

The search enumerates tensor parallel inside the NVLink domain (dividing the
attention heads), context parallel 1-8, pipeline stages, micro-batches of
1, 2 or 4 sequences and each pipeline schedule; data parallel takes the rest
of the GPUs and must divide the batch. For each candidate it keeps the
activations if they fit, else recomputes the fewest layers per stage that
make it fit (Megatron's block recompute, ``recompute_num_layers``; the
layout's label names the count). Megatron's 'selective' recompute (the
attention scores only) is not offered: flash/fused attention already keeps
no scores, so it would free nothing here. Fields the caller fixes
(``tp=4``, ``schedule='1f1b'`` ...) are not searched.

A job may be given GPUs it cannot use well (a batch of 8 sequences on 96
GPUs, or 16,344 = 72 x 227 GPUs that no layout splits): the search also tries
the three largest counts of the form 2^a 3^b below the count and reports
``gpus_used``. Any layout, chosen or forced, that does not fit in HBM is
refused with its figure and what would fit.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import check_precision, hbm_bytes_per_gpu
from dctwin.perf.job import check_fixed, make_job, switch, whole
from dctwin.perf.layout import RECOMPUTE, Layout, TrainingJob, micro_batches, stage_layers, virtual_stages
from dctwin.perf.memory import recompute_layers_needed
from dctwin.perf.models import LLM, get_model, tensor_parallel_problem
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.provenance import estimated_inputs
from dctwin.perf.schedule import SCHEDULES, schedule_allowed
from dctwin.perf.training import TrainingPerf, evaluate_layout

__all__ = ["best_layout", "choose_parallelism", "clear_layout_memo", "memory_budget_gb", "mfu_at_scale",
           "training_perf"]

_FIXABLE = ("tp", "pp", "dp", "cp", "ep", "micro_batch", "schedule", "recompute", "cuda_graphs")


def _divisors(n: int, up_to: int) -> list[int]:
    """Divisors of ``n`` up to ``up_to``: the search never needs larger ones, and a count of 10^9 GPUs costs no
    more than one of 8 [-]."""
    return [d for d in range(1, min(n, up_to) + 1) if n % d == 0]


def memory_budget_gb(platform: Platform, c: dict) -> float:
    """Memory a training layout may fill on one GPU [GB = 1e9 B]."""
    return hbm_bytes_per_gpu(platform) / 1e9 * c["hbm_usable_fraction"]


def _candidates(platform: Platform, job: TrainingJob, n: int, fixed: dict, c: dict):
    """Every layout of exactly ``n`` GPUs that the batch and the fixed fields allow (memory unchecked)."""
    model, seqs = job.model, job.batch_seqs
    tps = [fixed["tp"]] if "tp" in fixed else [d for d in _divisors(n, min(8, platform.scale_up_domain_gpus))
                                               if tensor_parallel_problem(model, d, training=True) is None]
    cps = [fixed["cp"]] if "cp" in fixed else [x for x in (1, 2, 4, 8) if job.seq_tokens % (2 * x) == 0]
    for tp in tps:
        for cp in cps:
            if n % (tp * cp):
                continue
            pps = [fixed["pp"]] if "pp" in fixed else _divisors(n // (tp * cp), model.layers // 2)
            for pp in pps:
                if n % (tp * cp * pp):
                    continue
                dp = n // (tp * cp * pp)
                if "dp" in fixed and fixed["dp"] != dp:
                    continue
                yield from _layouts_of_split(platform, job, tp, pp, dp, cp, seqs, fixed, c)


def _layouts_of_split(platform: Platform, job: TrainingJob, tp: int, pp: int, dp: int, cp: int, seqs: int,
                      fixed: dict, c: dict):
    """For one split of the GPUs (tp x pp x dp x cp), a group per micro-batch size, schedule and expert-parallel
    size: the layouts of each recompute policy, 'none' first; ``seqs``: sequences per step [-]."""
    model = job.model
    if model.is_moe:
        limit = max(1, min(model.experts, platform.scale_up_domain_gpus // tp))
        eps = [fixed["ep"]] if "ep" in fixed else [max(_divisors(dp, limit))]
    else:
        eps = [1]
    mbs_opts = [fixed["micro_batch"]] if "micro_batch" in fixed else (1, 2, 4)
    for mbs in mbs_opts:
        if seqs % (dp * mbs):
            continue
        m = micro_batches(seqs, dp, mbs)  # seqs divisible: exactly seqs / (dp mbs)
        v = virtual_stages(model, pp, int(c["virtual_stages_max"]))
        scheds = [fixed["schedule"]] if "schedule" in fixed else (SCHEDULES if pp > 1 else ("1f1b",))
        for sched in scheds:
            if schedule_allowed(sched, pp, m, v):
                continue
            for ep in eps:
                rec = [fixed["recompute"]] if "recompute" in fixed else RECOMPUTE
                yield [Layout(tp, pp, dp, cp, ep, mbs, sched, v if sched == "interleaved" else 1, r,
                              bool(fixed.get("cuda_graphs", False))) for r in rec]


def _search(platform: Platform, job: TrainingJob, n: int, fixed: dict, c: dict):
    """(fastest fitting result or None, smallest-memory result seen or None) over layouts of ``n`` GPUs."""
    budget = memory_budget_gb(platform, c)
    best: TrainingPerf | None = None
    leanest: TrainingPerf | None = None
    auto = "recompute" not in fixed
    for group in _candidates(platform, job, n, fixed, c):
        r = None
        for lay in group:                      # 'none' first: recompute only when the activations do not fit
            if auto and lay.recompute == "full" and r is not None:
                lay = _fewest_recomputed(job, lay, c, budget, r.memory)
            r = evaluate_layout(platform, job, lay, c)
            if leanest is None or r.memory_per_gpu_gb < leanest.memory_per_gpu_gb:
                leanest = r
            if r.memory_per_gpu_gb <= budget:
                if best is None or r.step_time_s < best.step_time_s:
                    best = r
                break
    return best, leanest


def _fewest_recomputed(job: TrainingJob, lay: Layout, c: dict, budget_gb: float, kept_all) -> Layout:
    """``lay`` recomputing only as many layers per stage as it needs to fit (all if even that does not fit);
    ``kept_all``: its memory without recomputation."""
    k = recompute_layers_needed(job, lay, c, budget_gb, kept_all)
    layers = math.ceil(stage_layers(job.model, lay.pp))
    return replace(lay, recompute_layers=k) if k is not None and 0 < k < layers else lay


def _fewer(n: int, count: int = 3) -> list[int]:
    """The ``count`` largest GPU counts of the form 2^a 3^b below ``n``: counts every layout can split."""
    smooth = {2**a * 3**b for a in range(n.bit_length() + 1) for b in range(12) if 2**a * 3**b < n}
    return sorted(smooth, reverse=True)[:count]


_MEMO_MAX = 1024  # distinct questions kept per process (a run asks 2 per pool; a sweep or a fit a few hundred)
_MEMO: dict[tuple, TrainingPerf | InputError] = {}


def best_layout(platform: Platform, job: TrainingJob, n_gpus: int, fixed: dict | None = None,
                params: PerfParams | None = None) -> TrainingPerf:
    """The fastest layout of ``job`` on at most ``n_gpus`` GPUs that fits in memory, with the run's performance
    constants ``params`` (None: the packaged ones).

    Each distinct question is searched once per process: the answer (or the refusal) is kept under every value
    it depends on, the platform's and the job's fields, the GPUs, the fixed fields and the 'training' constants.
    Raises InputError naming the memory needed and what would fit when none does.
    """
    params = params or packaged_perf_params()
    fixed = fixed or {}
    key = (platform, job, int(n_gpus), tuple(sorted(fixed.items())), params.digest("training"))
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_MAX:
            del _MEMO[next(iter(_MEMO))]  # the oldest question
        try:
            _MEMO[key] = _best_layout(platform, job, int(n_gpus), fixed, params)
        except InputError as exc:
            _MEMO[key] = exc
    found = _MEMO[key]
    if isinstance(found, InputError):  # a fresh copy: a raised exception carries its caller's traceback
        raise type(found)(found.problem, file=found.file, field=found.field, value=found.value,
                          allowed=found.allowed)
    return found


def clear_layout_memo() -> None:
    """Forget every answer of :func:`best_layout` (tests; a long-lived process that wants the memory back)."""
    _MEMO.clear()


def _best_layout(platform: Platform, job: TrainingJob, n_gpus: int, fixed: dict, params: PerfParams) -> TrainingPerf:
    """:func:`best_layout` without the memo."""
    c = params.training
    best, leanest = _search(platform, job, n_gpus, fixed, c)
    if not set(fixed) - {"cuda_graphs"} and n_gpus > 1:  # CUDA graphs are the stack's, not a layout choice
        for fewer in _fewer(n_gpus):
            alt, _ = _search(platform, job, fewer, fixed, c)
            if alt is not None and (best is None or alt.step_time_s < best.step_time_s):
                best = alt
    if best is None:
        raise _memory_error(platform, job, n_gpus, fixed, leanest, params)
    return replace(best, estimated_inputs=estimated_inputs(platform, job.model, job.precision, training=True))


def _memory_error(platform: Platform, job: TrainingJob, n: int, fixed: dict, leanest: TrainingPerf | None,
                  params: PerfParams) -> InputError:
    budget = memory_budget_gb(platform, params.training)
    what = f"{job.model.id} ({job.mode}, {job.precision})"
    if leanest is None:
        return InputError(f"no layout of {what} on {n} x {platform.gpu_name} matches the batch "
                          f"({job.batch_seqs} sequences) and the fixed fields {fixed or '{}'}"
                          + _schedule_reason(job, fixed, params.training),
                          field="layout", value=fixed or n, allowed="a batch divisible by the data-parallel size"
                          + (", or another schedule" if "schedule" in fixed else ""))
    need = leanest.memory_per_gpu_gb
    hint = _what_fits(platform, job, n, fixed, params)
    return InputError(f"{what} does not fit: the leanest layout on {n} x {platform.gpu_name} "
                      f"({leanest.layout.label()}) needs {need:.0f} GB per GPU, {budget:.0f} GB usable",
                      field="layout" if fixed else "n_gpus", value=fixed or n, allowed=hint)


def _schedule_reason(job: TrainingJob, fixed: dict, c: dict) -> str:
    """Why a fixed schedule cannot run on fixed pp and dp (': ' + the reason), else ''."""
    if "schedule" not in fixed or "pp" not in fixed or "dp" not in fixed:
        return ""
    m = micro_batches(job.batch_seqs, fixed["dp"], fixed.get("micro_batch", 1))
    v = virtual_stages(job.model, fixed["pp"], int(c["virtual_stages_max"]))
    reason = schedule_allowed(fixed["schedule"], fixed["pp"], m, v)
    return f": {reason} ({job.model.layers} layers on {fixed['pp']} stages admit {v} chunk(s))" if reason else ""


def _what_fits(platform: Platform, job: TrainingJob, n: int, fixed: dict, params: PerfParams) -> str:
    if fixed:
        try:
            return f"the automatic layout: {best_layout(platform, job, n, None, params).layout.label()}"
        except InputError:
            pass
    for more in (2 * n, 4 * n, 8 * n, 16 * n, 64 * n):
        if _search(platform, job, more, {}, params.training)[0] is not None:
            return f"{more} GPUs or more"
    others = [m for m in ("lora",) if m != job.mode]
    return "more GPUs" + (f", or mode {others[0]}" if others else "")


def training_perf(platform: Platform, model: LLM | str, n_gpus: int, precision: str = "bf16",
                  global_batch_tokens: float | None = None, tp: int | None = None, pp: int | None = None,
                  dp: int | None = None, seq_tokens: int | None = None, params: PerfParams | None = None, *,
                  cp: int | None = None, ep: int | None = None, micro_batch: int | None = None,
                  schedule: str | None = None, recompute: str | None = None, mode: str = "pretrain",
                  lora_rank: int = 16, attention_precision: str = "bf16", cuda_graphs: bool = False,
                  fp8_params: bool = False, grad_precision: str = "fp32", distributed_optimizer: bool = True,
                  fp8_activation_store: bool = False, packed_sample_tokens: float | None = None) -> TrainingPerf:
    """Step time, throughput, MFU and memory of training ``model`` on ``n_gpus`` GPUs of ``platform``.

    ``global_batch_tokens`` is rounded to whole sequences; it defaults to the
    model's published batch rounded to 2^k or 3 x 2^k sequences in pre-training and to the fine-tuning batch
    (perf/data/calibration.yaml finetune_batch_tokens, 131,072 tokens; at least one sequence) otherwise;
    ``mode`` is 'pretrain', 'full-finetune' or 'lora';
    ``attention_precision`` 'fp8' runs dot-product attention in FP8 (FP8 or FP4 training only);
    ``cuda_graphs`` replays each layer as a CUDA graph (the host issues one launch per layer and pass);
    ``fp8_params`` holds the weights in FP8 (FP8/FP4 training), ``grad_precision`` 'bf16' keeps 16-bit gradients,
    ``fp8_activation_store`` keeps the MLP activation function's input in FP8 (all off: the NeMo/Megatron defaults).
    ``packed_sample_tokens``: samples packed into each sequence with attention per sample (THD layout), their
    length-weighted mean length sum(l^2)/sum(l) [token]; None: attention over the whole sequence.
    ``distributed_optimizer`` False: optimizer states whole on every data-parallel rank, gradients all-reduced.
    Layout fields left None are chosen (fastest that fits); tp/pp/dp, if
    given, must all be given. ``params``: the run's performance constants (None: the packaged ones).
    """
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    n_gpus = whole("n_gpus", n_gpus)
    params = params or packaged_perf_params()
    job = make_job(model, mode, precision, global_batch_tokens, seq_tokens, lora_rank, attention_precision,
                   {"fp8_params": fp8_params, "grad_precision": grad_precision,
                    "fp8_activation_store": fp8_activation_store, "distributed_optimizer": distributed_optimizer},
                   packed_sample_tokens, finetune_batch_tokens=params.training["finetune_batch_tokens"])
    given = (tp, pp, dp, cp, ep, micro_batch, schedule, recompute, switch("cuda_graphs", cuda_graphs) or None)
    fixed = {k: v for k, v in zip(_FIXABLE, given, strict=True) if v is not None}
    check_fixed(job, fixed, n_gpus)
    return best_layout(platform, job, n_gpus, fixed, params)


def choose_parallelism(platform: Platform, model: LLM, n_gpus: int, seq_tokens: float, batch_tokens: float,
                       precision: str = "bf16", params: PerfParams | None = None) -> tuple[int, int, int]:
    """(tp, pp, dp) of the fastest fitting pre-training layout (cp folded into dp for this summary); sequence and
    global batch in tokens."""
    job = make_job(model, "pretrain", precision, batch_tokens, int(seq_tokens), 16)
    lay = best_layout(platform, job, int(n_gpus), None, params).layout
    return lay.tp, lay.pp, lay.dp * lay.cp


_MFU_CACHE: dict[tuple, float] = {}


def _cached_mfu(platform: Platform, model: LLM, n: int, precision: str, mode: str, params: PerfParams,
                digest: str) -> float:
    key = (platform, model, n, precision, mode, digest)  # every value the answer depends on
    if key not in _MFU_CACHE:
        try:
            _MFU_CACHE[key] = training_perf(platform, model, n, precision, mode=mode, params=params).mfu
        except InputError:
            _MFU_CACHE[key] = float("nan")
    return _MFU_CACHE[key]


def mfu_at_scale(platform: Platform, model: LLM | str, n_gpus, precision: str = "bf16",
                 mode: str = "pretrain", params: PerfParams | None = None) -> np.ndarray:
    """MFU [-] for each job size in ``n_gpus`` (array), automatic layout and the model's batch.

    Sizes the model cannot fit on give NaN. Cached per (platform, model, size, precision, mode, the
    'training' constants of ``params``), so a caller can ask for every job size cheaply.
    """
    model = get_model(model) if isinstance(model, str) else model
    check_precision(platform, precision)
    params = params or packaged_perf_params()
    digest = params.digest("training")
    sizes = np.asarray(n_gpus)
    out = np.array([_cached_mfu(platform, model, int(n), precision, mode, params, digest)
                    for n in sizes.reshape(-1)])
    return out.reshape(sizes.shape)
