"""Range checks of every number a workload profile file holds (``dctwin workload fit`` output, maybe edited).

A profile's numbers drive the job generator directly: a NaN run-time quantile,
a GPU count of 10^12 or a group of 10^9 jobs used to give a run without a
single development job and exit 0. Each number must be finite and inside the
range a fitted log can produce; InputError names the file, the field path, the
value and the range.
"""

from __future__ import annotations

import math
from typing import Any

from dctwin.errors import InputError

__all__ = ["check_profile_numbers"]

MAX_GPUS = 10_000_000        # the scenario's own ceiling for a job's GPUs
MAX_GROUP = 10_000           # the fit caps group sizes here (dctwin.workload.profile)
MAX_RUN_S = 1e10             # ~317 years: longer than any log can record [s]
MAX_GROUPS_PER_S = 1e6       # submission groups per second
MAX_HOUR_FACTOR = 1e4        # an hour-of-week factor relative to the mean 1


def _values(node: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(node, list):
        return [(f"{path}[{i}]", v) for i, v in enumerate(node)]
    return [(path, node)]


def _check(node: Any, path: str, file: str, lo: float, hi: float, *, integer: bool = False,
           lo_open: bool = False) -> None:
    """Every number at ``node`` (a number or a list of them) finite and in [lo, hi] (``lo_open``: (lo, hi])."""
    kind = "whole numbers" if integer else "numbers"
    allowed = f"{kind} {'above' if lo_open else 'from'} {lo:g} {'up to' if lo_open else 'to'} {hi:g}"
    for where, v in _values(node, path):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (v > lo if lo_open else v >= lo) and v <= hi and (not integer or float(v).is_integer())
        if not ok:
            raise InputError("number out of range in the workload profile", file=file, field=where,
                             value=v if isinstance(v, (int, float, str, type(None))) else type(v).__name__,
                             allowed=allowed)


def _check_body_tail(c: dict, path: str, file: str) -> None:
    _check(c["body_p"], f"{path}.body_p", file, 0.0, 1.0, lo_open=True)
    for key in ("body_quantiles_s", "tail_quantiles_s", "max_s"):
        _check(c[key], f"{path}.{key}", file, 0.0, MAX_RUN_S)
    _check(c["tail_survival"], f"{path}.tail_survival", file, 0.0, 1.0, lo_open=True)


def check_profile_numbers(doc: dict, file: str) -> None:
    """InputError at the first number of ``doc`` (a workload profile) that is not finite and in range."""
    a = doc["arrivals"]
    _check(a["groups_per_s"], "arrivals.groups_per_s", file, 0.0, MAX_GROUPS_PER_S)
    _check(a["hour_of_week_factor"], "arrivals.hour_of_week_factor", file, 0.0, MAX_HOUR_FACTOR)
    _check(a["group_sizes"], "arrivals.group_sizes", file, 1, MAX_GROUP, integer=True)
    _check(a["group_size_probs"], "arrivals.group_size_probs", file, 0.0, 1.0)
    _check(doc["gpus"]["values"], "gpus.values", file, 1, MAX_GPUS, integer=True)
    _check(doc["gpus"]["probs"], "gpus.probs", file, 0.0, 1.0)
    if len(a["group_sizes"]) != len(a["group_size_probs"]) or not a["group_sizes"]:
        raise InputError("arrivals.group_sizes and group_size_probs differ in length or are empty", file=file,
                         field="arrivals.group_size_probs", allowed="one share per group size")
    for i, c in enumerate(doc["runtime_classes"]):
        _check(c["gpus_max"], f"runtime_classes[{i}].gpus_max", file, 1, MAX_GPUS, integer=True)
        _check_body_tail(c, f"runtime_classes[{i}]", file)
    lat = doc.get("scheduler_latency")
    if lat is not None:
        _check(lat["retry_s"], "scheduler_latency.retry_s", file, 0.0, MAX_RUN_S, lo_open=True)
        _check(lat["first_attempt_fail_share"], "scheduler_latency.first_attempt_fail_share", file, 0.0, 1.0)
        for k, v in lat["retries_mixture"].items():
            _check(v, f"scheduler_latency.retries_mixture.{k}", file, 0.0, 1.0)
        _check_body_tail(lat["bind"], "scheduler_latency.bind", file)
