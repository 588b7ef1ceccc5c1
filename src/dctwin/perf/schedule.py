"""Pipeline schedules: idle time (bubble) and activations held in flight.

With ``p`` stages and ``m`` micro-batches per step, each micro-batch taking
``t_f`` forward, ``t_b`` backward for the inputs and ``t_w`` for the weight
gradients on one stage:

* '1f1b' (PipeDream-Flush; Narayanan et al., SC'21): bubble (p-1)(t_f+t_b+t_w);
  the first stage holds p micro-batches' activations;
* 'interleaved' (v model chunks per stage, same paper): bubble divided by v;
  activations grow by 1 + (p-1)/(p v); needs m to be a multiple of p;
* 'zero-bubble' (ZB-H1; Qi et al., arXiv:2401.10241): weight-gradient work
  fills the cool-down, bubble (p-1)(t_f+t_b-t_w) at 1F1B's memory. With
  LoRA ``t_w`` is nearly zero, so it gains nothing there.

One stage (p = 1) has no bubble under any schedule.
"""

from __future__ import annotations

__all__ = ["SCHEDULES", "activation_in_flight", "bubble_s", "schedule_allowed"]

SCHEDULES = ("1f1b", "interleaved", "zero-bubble")


def schedule_allowed(schedule: str, pp: int, m: int, v: int) -> str | None:
    """None if ``schedule`` can run ``m`` micro-batches on ``pp`` stages with ``v`` chunks, else the reason."""
    if schedule not in SCHEDULES:
        return f"unknown schedule (allowed: {', '.join(SCHEDULES)})"
    if schedule == "interleaved":
        if pp < 2 or v < 2:
            return "interleaving needs at least 2 pipeline stages and 2 model chunks per stage"
        if m % pp:
            return f"interleaving needs the micro-batches per step ({m}) to be a multiple of the stages ({pp})"
    return None


def bubble_s(schedule: str, pp: int, v: int, t_f_s: float, t_b_s: float, t_w_s: float) -> float:
    """Pipeline idle time of one step [s] (per-micro-batch stage times in [s])."""
    if pp <= 1:
        return 0.0
    if schedule == "interleaved":
        return (pp - 1) * (t_f_s + t_b_s + t_w_s) / v
    if schedule == "zero-bubble":
        return (pp - 1) * max(t_f_s + t_b_s - t_w_s, 0.0)
    return (pp - 1) * (t_f_s + t_b_s + t_w_s)


def activation_in_flight(schedule: str, pp: int, m: int, v: int) -> float:
    """Micro-batches whose activations the first stage holds at once [-]."""
    held = float(min(pp, m))
    if schedule == "interleaved" and pp > 1:
        held *= 1.0 + (pp - 1) / (pp * v)
    return held
