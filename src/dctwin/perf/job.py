"""A training job from the arguments of ``training_perf``, each field checked, and the layout fields a caller fixes.

Bad input is refused with the field, the value and what is allowed (a batch smaller than one sequence, an FP8
switch under BF16 training, a tensor-parallel size that does not divide the heads ...), never evaluated as a
fraction of a layer or head or silently dropped.
"""

from __future__ import annotations

import math

import numpy as np

from dctwin.errors import InputError
from dctwin.perf.layout import (
    ATTENTION_PRECISIONS,
    FP8_RECIPE_PRECISIONS,
    GRAD_PRECISIONS,
    MODES,
    RECOMPUTE,
    TrainingJob,
)
from dctwin.perf.models import LLM, tensor_parallel_problem
from dctwin.perf.schedule import SCHEDULES

__all__ = ["check_fixed", "make_job", "number", "switch", "whole"]


def _round_batch(seqs: float) -> int:
    """The nearest (in ratio) of 2^k and 3 x 2^k sequences [-]."""
    options = [b * 2**k for k in range(0, 24) for b in (1, 3)]
    return min(options, key=lambda x: abs(np.log(x / max(seqs, 1.0))))


def make_job(model: LLM, mode: str, precision: str, batch_tokens: float | None, seq_tokens: int | None,
             lora_rank: int, attention_precision: str = "bf16", stored: dict | None = None,
             packed_sample_tokens: float | None = None, finetune_batch_tokens: float | None = None) -> TrainingJob:
    """The job, its fields checked: ``batch_tokens`` [token] rounded to whole sequences of ``seq_tokens`` [token]
    (None: ``finetune_batch_tokens`` [token] in a fine-tuning mode when given, at least one sequence, else the
    model's published batch; sequence None: the model's); ``stored``: how weights, gradients, activations and states
    are held (fp8_params, grad_precision, fp8_activation_store, distributed_optimizer)."""
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
    seq = model.train_seq_tokens if seq_tokens is None else whole("seq_tokens", seq_tokens)
    lora_rank = whole("lora_rank", lora_rank)
    if batch_tokens is not None:
        batch_tokens = number("global_batch_tokens", batch_tokens, 0.0,
                              f">= seq_tokens ({seq:,} tokens), or null: the model's published batch")
        if batch_tokens < seq:  # rounding up to one sequence would train on up to seq_tokens times more
            raise InputError("the global batch is smaller than one sequence", field="global_batch_tokens",
                             value=batch_tokens, allowed=f">= seq_tokens ({seq:,} tokens)")
        seqs = max(1, round(float(batch_tokens) / seq))
    elif mode != "pretrain" and finetune_batch_tokens:   # a pre-training batch would hide a fine-tuning run's bubble
        seqs = max(1, round(float(finetune_batch_tokens) / seq))
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


def _is_number(value) -> bool:
    """An int or float (numpy's too), not a bool and not text [-]."""
    return not isinstance(value, bool | np.bool_) and isinstance(value, int | float | np.integer | np.floating)


def whole(name: str, value, minimum: int = 1) -> int:
    """A count argument: a whole number >= ``minimum`` (8.0 reads as 8; 8.5, NaN, inf, True and '8' are refused,
    not truncated or guessed) [-]."""
    if not (_is_number(value) and math.isfinite(value) and float(value).is_integer() and value >= minimum):
        raise InputError(f"expected a whole number >= {minimum}", field=name, value=value,
                         allowed=f"a whole number >= {minimum}")
    return int(value)


def number(name: str, value, minimum: float, allowed: str) -> float:
    """A finite number >= ``minimum`` (NaN, inf and text are refused; ``allowed`` says what is) [-]."""
    if not (_is_number(value) and math.isfinite(value) and value >= minimum):
        raise InputError(f"expected a finite number >= {minimum:g}", field=name, value=value, allowed=allowed)
    return float(value)


def switch(name: str, value) -> bool:
    """A true/false argument, refused otherwise (bool('false') and bool(2) are True) [-]."""
    if not isinstance(value, bool | np.bool_):
        raise InputError("expected true or false", field=name, value=value, allowed="true, false")
    return bool(value)


def _check_stored(precision: str, stored: dict) -> dict:
    """How weights, gradients and activation inputs are stored, checked (see TrainingJob)."""
    out = {"fp8_params": switch("fp8_params", stored.get("fp8_params", False)),
           "grad_precision": stored.get("grad_precision", "fp32"),
           "fp8_activation_store": switch("fp8_activation_store", stored.get("fp8_activation_store", False)),
           "distributed_optimizer": switch("distributed_optimizer", stored.get("distributed_optimizer", True))}
    if out["grad_precision"] not in GRAD_PRECISIONS:
        raise InputError("unknown gradient precision", field="grad_precision", value=out["grad_precision"],
                         allowed=", ".join(GRAD_PRECISIONS))
    if out["fp8_params"] and precision not in FP8_RECIPE_PRECISIONS:
        raise InputError("FP8 weights (fp8_params) need FP8 (or FP4) training", field="fp8_params", value=True,
                         allowed=f"false with precision {precision}")
    return out


def check_fixed(job: TrainingJob, fixed: dict, n_gpus: int) -> None:
    """The layout fields a caller fixes (``fixed``: tp, pp, dp, cp, ep, micro_batch, schedule, recompute), checked
    against each other, ``n_gpus`` and the model."""
    for k in ("tp", "pp", "dp", "cp", "ep", "micro_batch"):
        if k in fixed:
            fixed[k] = whole(k, fixed[k])
    if any(k in fixed for k in ("tp", "pp", "dp")):
        tp, pp, dp = (fixed.get(k) for k in ("tp", "pp", "dp"))
        if not all(k in fixed for k in ("tp", "pp", "dp")):
            raise InputError("give all of tp, pp, dp or none of them", field="tp/pp/dp", value=(tp, pp, dp))
        if tp * pp * dp * fixed.get("cp", 1) != n_gpus:
            raise InputError("tp * pp * dp * cp must equal n_gpus", field="tp/pp/dp/cp",
                             value=(tp, pp, dp, fixed.get("cp", 1)), allowed=f"a factorisation of {n_gpus}")
    if "schedule" in fixed and fixed["schedule"] not in SCHEDULES:
        raise InputError("unknown pipeline schedule", field="schedule", value=fixed["schedule"],
                         allowed=", ".join(SCHEDULES))
    if "recompute" in fixed and fixed["recompute"] not in RECOMPUTE:
        raise InputError("unknown recompute policy", field="recompute", value=fixed["recompute"],
                         allowed=", ".join(RECOMPUTE))
    _check_fixed_sizes(job, fixed)


def _check_fixed_sizes(job: TrainingJob, fixed: dict) -> None:
    """A fixed size the model cannot be split by is refused, not evaluated as a fraction of a layer, head or
    expert (or, for ep on a dense model, dropped)."""
    m = job.model
    rules = (("tp", lambda v: tensor_parallel_problem(m, v, training=True) is None,
              tensor_parallel_problem(m, fixed.get("tp", 1), training=True)),
             ("pp", lambda v: v <= m.layers, f"at most its {m.layers} layers (a stage holds at least one)"),
             ("cp", lambda v: job.seq_tokens % (2 * v) == 0,
              f"a size whose 2 x cp divides the {job.seq_tokens:,}-token sequence"),
             ("ep", lambda v: v == 1 or (m.is_moe and m.experts % v == 0 and fixed.get("dp", v) % v == 0),
              f"a divisor of its {m.experts} experts and of dp" if m.is_moe else "null or 1 (a dense model)"))
    for k, ok, allowed in rules:
        if k in fixed and not ok(int(fixed[k])):
            raise InputError(f"{m.id} cannot be split this way", field=k, value=fixed[k], allowed=allowed)
