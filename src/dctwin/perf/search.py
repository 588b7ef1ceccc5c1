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
from dctwin.perf.layout import (
    ATTENTION_PRECISIONS,
    FP8_RECIPE_PRECISIONS,
    GRAD_PRECISIONS,
    MODES,
    RECOMPUTE,
    Layout,
    TrainingJob,
    stage_fraction,
)
from dctwin.perf.memory import recompute_layers_needed
from dctwin.perf.models import LLM, get_model
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.schedule import SCHEDULES, schedule_allowed
from dctwin.perf.training import TrainingPerf, evaluate_layout

__all__ = ["best_layout", "choose_parallelism", "clear_layout_memo", "memory_budget_gb", "mfu_at_scale",
           "training_perf"]

_FIXABLE = ("tp", "pp", "dp", "cp", "ep", "micro_batch", "schedule", "recompute", "cuda_graphs")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _virtual_stages(model: LLM, pp: int, c: dict) -> int:
    per_stage = model.layers // pp
    return max([v for v in range(1, int(c["virtual_stages_max"]) + 1) if per_stage % v == 0] or [1])


def memory_budget_gb(platform: Platform, c: dict) -> float:
    """Memory a training layout may fill on one GPU [GB = 1e9 B]."""
    return hbm_bytes_per_gpu(platform) / 1e9 * c["hbm_usable_fraction"]


def _candidates(platform: Platform, job: TrainingJob, n: int, fixed: dict, c: dict):
    """Every layout of exactly ``n`` GPUs that the batch and the fixed fields allow (memory unchecked)."""
    model, seqs = job.model, job.batch_seqs
    tps = [fixed["tp"]] if "tp" in fixed else [d for d in _divisors(n) if d <= min(8, platform.scale_up_domain_gpus)
                                               and model.attention_heads % d == 0]
    cps = [fixed["cp"]] if "cp" in fixed else [x for x in (1, 2, 4, 8) if job.seq_tokens % (2 * x) == 0]
    for tp in tps:
        for cp in cps:
            if n % (tp * cp):
                continue
            pps = [fixed["pp"]] if "pp" in fixed else [d for d in _divisors(n // (tp * cp)) if 2 * d <= model.layers]
            for pp in pps:
                if n % (tp * cp * pp):
                    continue
                dp = n // (tp * cp * pp)
                if "dp" in fixed and fixed["dp"] != dp:
                    continue
                yield from _inner(platform, job, tp, pp, dp, cp, seqs, fixed, c)


def _inner(platform, job, tp, pp, dp, cp, seqs, fixed, c):
    model = job.model
    if model.is_moe:
        limit = max(1, min(model.experts, platform.scale_up_domain_gpus // tp))
        eps = [fixed["ep"]] if "ep" in fixed else [max(d for d in _divisors(dp) if d <= limit)]
    else:
        eps = [1]
    mbs_opts = [fixed["micro_batch"]] if "micro_batch" in fixed else (1, 2, 4)
    for mbs in mbs_opts:
        if seqs % (dp * mbs):
            continue
        m = seqs // (dp * mbs)
        v = _virtual_stages(model, pp, c)
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
    layers = math.ceil(job.model.layers * stage_fraction(job.model, lay.pp))
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
    return best


def _memory_error(platform: Platform, job: TrainingJob, n: int, fixed: dict, leanest: TrainingPerf | None,
                  params: PerfParams) -> InputError:
    budget = memory_budget_gb(platform, params.training)
    what = f"{job.model.id} ({job.mode}, {job.precision})"
    if leanest is None:
        return InputError(f"no layout of {what} on {n} x {platform.gpu_name} matches the batch "
                          f"({job.batch_seqs} sequences) and the fixed fields {fixed or '{}'}",
                          field="layout", value=fixed or n, allowed="a batch divisible by the data-parallel size")
    need = leanest.memory_per_gpu_gb
    hint = _what_fits(platform, job, n, fixed, params)
    return InputError(f"{what} does not fit: the leanest layout on {n} x {platform.gpu_name} "
                      f"({leanest.layout.label()}) needs {need:.0f} GB per GPU, {budget:.0f} GB usable",
                      field="layout" if fixed else "n_gpus", value=fixed or n, allowed=hint)


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


def _round_batch(seqs: float) -> int:
    """The nearest (in ratio) of 2^k and 3 x 2^k sequences [-]."""
    options = [b * 2**k for k in range(0, 24) for b in (1, 3)]
    return min(options, key=lambda x: abs(np.log(x / max(seqs, 1.0))))


def _job(model: LLM, mode: str, precision: str, batch: float | None, seq: int | None, lora_rank: int,
         attention_precision: str = "bf16", stored: dict | None = None,
         packed_sample_tokens: float | None = None) -> TrainingJob:
    """The job, its fields checked; ``stored``: how weights, gradients, activations and states are held."""
    if mode not in MODES:
        raise InputError("unknown training mode", field="mode", value=mode, allowed=", ".join(MODES))
    if attention_precision not in ATTENTION_PRECISIONS:
        raise InputError("unknown attention precision", field="attention_precision", value=attention_precision,
                         allowed=", ".join(ATTENTION_PRECISIONS))
    if attention_precision == "fp8" and precision not in FP8_RECIPE_PRECISIONS:
        raise InputError("FP8 attention runs only inside FP8 (or FP4) training", field="attention_precision",
                         value=attention_precision, allowed=f"bf16 with precision {precision}")
    stored = _check_stored(precision, stored or {})
    if stored["fp8_activation_store"] and model.mlp_matrices < 3:  # Megatron passes it to its SwiGLU kernels only
        raise InputError("an FP8 activation store exists only for a gated (SwiGLU) MLP; Megatron's GeLU path "
                         "ignores activation_func_fp8_input_store", field="fp8_activation_store", value=True,
                         allowed=f"false for {model.id} (GeLU MLP)")
    seq = int(seq or model.train_seq_tokens)
    if batch:
        if float(batch) < seq:  # rounding up to one sequence would train on a batch up to seq_tokens times larger
            raise InputError("the global batch is smaller than one sequence", field="global_batch_tokens",
                             value=batch, allowed=f">= seq_tokens ({seq:,} tokens)")
        seqs = max(1, round(float(batch) / seq))
    else:  # published batches are round millions of tokens; runs use 2^k or 3 x 2^k sequences (GPT-3: 1,536)
        seqs = _round_batch(model.train_batch_tokens / seq)
    return TrainingJob(model, mode, precision, float(seqs * seq), seq, int(lora_rank), attention_precision, **stored,
                       packed_sample_tokens=_check_packed(packed_sample_tokens, seq))


def _check_packed(packed_sample_tokens: float | None, seq: int) -> float | None:
    """The packed samples' length-weighted mean length, checked: 1 to the sequence length [token]."""
    if packed_sample_tokens is None:
        return None
    if isinstance(packed_sample_tokens, bool) or not isinstance(packed_sample_tokens, int | float | np.number):
        raise InputError("expected a number of tokens", field="packed_sample_tokens", value=packed_sample_tokens,
                         allowed=f"1 to seq_tokens ({seq:,}), or null: unpacked")
    if not 1.0 <= float(packed_sample_tokens) <= seq:
        raise InputError("packed samples cannot be shorter than a token or longer than the sequence they are "
                         "packed into", field="packed_sample_tokens", value=packed_sample_tokens,
                         allowed=f"1 to seq_tokens ({seq:,}), or null: unpacked")
    return float(packed_sample_tokens)


def _switch(name: str, value) -> bool:
    """A true/false argument, refused otherwise (bool('false') and bool(2) are True) [-]."""
    if not isinstance(value, bool | np.bool_):
        raise InputError("expected true or false", field=name, value=value, allowed="true, false")
    return bool(value)


def _check_stored(precision: str, stored: dict) -> dict:
    """How weights, gradients and activation inputs are stored, checked (see TrainingJob)."""
    out = {"fp8_params": _switch("fp8_params", stored.get("fp8_params", False)),
           "grad_precision": stored.get("grad_precision", "fp32"),
           "fp8_activation_store": _switch("fp8_activation_store", stored.get("fp8_activation_store", False)),
           "distributed_optimizer": _switch("distributed_optimizer", stored.get("distributed_optimizer", True))}
    if out["grad_precision"] not in GRAD_PRECISIONS:
        raise InputError("unknown gradient precision", field="grad_precision", value=out["grad_precision"],
                         allowed=", ".join(GRAD_PRECISIONS))
    if out["fp8_params"] and precision not in FP8_RECIPE_PRECISIONS:
        raise InputError("FP8 weights (fp8_params) need FP8 (or FP4) training", field="fp8_params", value=True,
                         allowed=f"false with precision {precision}")
    return out


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
    model's published batch rounded to 2^k or 3 x 2^k sequences; ``mode`` is 'pretrain', 'full-finetune' or 'lora';
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
    n_gpus = int(n_gpus)
    if n_gpus < 1:
        raise InputError("n_gpus must be at least 1", field="n_gpus", value=n_gpus)
    job = _job(model, mode, precision, global_batch_tokens, seq_tokens, lora_rank, attention_precision,
               dict(fp8_params=fp8_params, grad_precision=grad_precision, fp8_activation_store=fp8_activation_store,
                    distributed_optimizer=distributed_optimizer), packed_sample_tokens)
    given = (tp, pp, dp, cp, ep, micro_batch, schedule, recompute,
             _switch("cuda_graphs", cuda_graphs) or None)
    fixed = {k: v for k, v in zip(_FIXABLE, given, strict=True) if v is not None}
    if any(k in fixed for k in ("tp", "pp", "dp")):
        if not all(k in fixed for k in ("tp", "pp", "dp")):
            raise InputError("give all of tp, pp, dp or none of them", field="tp/pp/dp", value=(tp, pp, dp))
        if tp * pp * dp * fixed.get("cp", 1) != n_gpus:
            raise InputError("tp * pp * dp * cp must equal n_gpus", field="tp/pp/dp/cp",
                             value=(tp, pp, dp, fixed.get("cp", 1)), allowed=f"a factorisation of {n_gpus}")
    _check_fixed(job, fixed)
    return best_layout(platform, job, n_gpus, fixed, params)


def _check_fixed(job: TrainingJob, fixed: dict) -> None:
    if "schedule" in fixed and fixed["schedule"] not in SCHEDULES:
        raise InputError("unknown pipeline schedule", field="schedule", value=fixed["schedule"],
                         allowed=", ".join(SCHEDULES))
    if "recompute" in fixed and fixed["recompute"] not in RECOMPUTE:
        raise InputError("unknown recompute policy", field="recompute", value=fixed["recompute"],
                         allowed=", ".join(RECOMPUTE))
    for k in ("tp", "pp", "dp", "cp", "ep", "micro_batch"):
        if k in fixed and int(fixed[k]) < 1:
            raise InputError(f"{k} must be at least 1", field=k, value=fixed[k])
    _check_fixed_sizes(job, fixed)


def _check_fixed_sizes(job: TrainingJob, fixed: dict) -> None:
    """A fixed size the model cannot be split by is refused, not evaluated as a fraction of a layer, head or
    expert (or, for ep on a dense model, dropped)."""
    m = job.model
    rules = (("tp", lambda v: m.attention_heads % v == 0, f"a divisor of its {m.attention_heads} attention heads"),
             ("pp", lambda v: v <= m.layers, f"at most its {m.layers} layers (a stage holds at least one)"),
             ("cp", lambda v: job.seq_tokens % (2 * v) == 0,
              f"a size whose 2 x cp divides the {job.seq_tokens:,}-token sequence"),
             ("ep", lambda v: v == 1 or (m.is_moe and m.experts % v == 0 and fixed.get("dp", v) % v == 0),
              f"a divisor of its {m.experts} experts and of dp" if m.is_moe else "null or 1 (a dense model)"))
    for k, ok, allowed in rules:
        if k in fixed and not ok(int(fixed[k])):
            raise InputError(f"{m.id} cannot be split this way", field=k, value=fixed[k], allowed=allowed)


def choose_parallelism(platform: Platform, model: LLM, n_gpus: int, seq: float, batch_tokens: float,
                       precision: str = "bf16", params: PerfParams | None = None) -> tuple[int, int, int]:
    """(tp, pp, dp) of the fastest fitting pre-training layout (cp folded into dp for this summary)."""
    job = _job(model, "pretrain", precision, batch_tokens, int(seq), 16)
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
