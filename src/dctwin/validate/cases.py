"""Validation cases: a published figure, its source, a tolerance, and the twin's own figure.

Cases are data (``data/cases.yaml``); each names a *measure*, a function in
the registry below that runs the relevant part of the twin and returns the
modelled figure in the published unit.

A measure may instead return ``(modelled, reference)`` when the reference is
itself computed from data (a trace's own statistics, or the request-level
replay a fluid model is checked against); the case then has
``published: null``. ``role`` says what the published figure is to the model:
``calibration`` (a constant was fitted to it, so agreement is expected),
``check`` (independent), ``consistency`` (one dctwin model against another).
A case with ``known_gap`` (the reason) is shown, pass or fail, but does not
fail the run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dctwin.config.base import MAX_ABS_NUMBER
from dctwin.errors import InputError
from dctwin.workload.profile_check import MAX_GPUS

__all__ = ["Case", "CaseResult", "load_cases", "run_case", "MEASURES", "measure"]

MEASURES: dict[str, Callable[..., float]] = {}


def measure(name: str):
    """Register a function as the measure ``name``."""

    def wrap(fn: Callable[..., float]) -> Callable[..., float]:
        MEASURES[name] = fn
        return fn

    return wrap


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    source_title: str
    source_url: str
    published: float | None
    unit: str
    measure: str
    params: dict[str, Any]
    tolerance_rel: float | None = None   # |model - published| / published allowed
    bound: str | None = None             # 'min' or 'max': published is a bound, not a point
    fast: bool = True
    role: str = "check"                  # 'calibration' | 'check' | 'consistency'
    known_gap: str | None = None         # why a failure is expected; such a case does not fail the run
    file: str | None = None              # the user's cases file (None: built in)


ROLES = ("calibration", "check", "consistency")


@dataclass(frozen=True)
class CaseResult:
    case: Case
    modelled: float
    error_rel: float | None
    passed: bool
    seconds: float
    reference: float | None = None       # the figure compared with: published, or computed by the measure

    @property
    def blocking(self) -> bool:
        """True if this result fails the run (failed and not a known gap)."""
        return not self.passed and not self.case.known_gap

    @property
    def row(self) -> dict[str, Any]:
        c = self.case
        ref = self.reference if self.reference is not None else c.published
        if c.bound == "min":
            tolerance = f">= {ref:g}"
        elif c.bound == "max":
            tolerance = f"<= {ref:g}"
        else:
            tolerance = f"±{c.tolerance_rel:.0%}"
        return {"case": c.id, "title": c.title, "source": f"{c.source_title} ({c.source_url})",
                "role": c.role, "published": ref, "modelled": self.modelled, "unit": c.unit,
                "error": self.error_rel, "tolerance": tolerance, "pass": self.passed,
                "known_gap": c.known_gap or "", "seconds": round(self.seconds, 2)}


def load_cases(path: Path | None = None) -> list[Case]:
    """The built-in cases, or those in ``path``; each needs a source title and URL."""
    if path:
        from dctwin.config.load import read_yaml_document

        try:  # missing, a folder, a FIFO or a device: named as such (regular file, size cap, timeout)
            docs = read_yaml_document(Path(path))
        except InputError as exc:
            raise InputError(exc.problem, file=str(path), field="--cases", allowed="a YAML file") from None
        if docs is None or docs == []:  # 0 cases ran and the command exited 0 as if all had passed
            raise InputError("the cases file has no cases", file=str(path), field="--cases",
                             allowed="a YAML list of one or more cases")
    else:
        docs = yaml.safe_load((resources.files("dctwin.validate") / "data" / "cases.yaml").read_text(encoding="utf-8"))
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        raise InputError("a cases file is a YAML list of cases, each a mapping", file=str(path or "cases.yaml"))
    cases = []
    for i, d in enumerate(docs):
        _check_case_fields(d, i, str(path or "cases.yaml"))
        src = d.get("source", {})
        if not src.get("title") or not str(src.get("url", "")).startswith("http"):
            raise InputError("every case needs source.title and an http(s) source.url", file=str(path or "cases.yaml"),
                             field=f"[{i}].source", value=src)
        if d["measure"] not in MEASURES:
            raise InputError("unknown measure", field=f"[{i}].measure", value=d["measure"],
                             allowed=", ".join(sorted(MEASURES)))
        role = d.get("role", "check")
        if role not in ROLES:
            raise InputError("unknown case role", file=str(path or "cases.yaml"), field=f"[{i}].role", value=role,
                             allowed=", ".join(ROLES))
        if d.get("bound") is None and d.get("tolerance_rel") is None:
            raise InputError("a case needs tolerance_rel or bound (min|max)", file=str(path or "cases.yaml"),
                             field=f"[{i}].tolerance_rel")
        published = d.get("published")
        cases.append(Case(id=d["id"], title=d["title"], source_title=src["title"], source_url=src["url"],
                          published=None if published is None else float(published), unit=d["unit"],
                          measure=d["measure"], params=d.get("params", {}), tolerance_rel=d.get("tolerance_rel"),
                          bound=d.get("bound"), fast=d.get("fast", True), role=role,
                          known_gap=d.get("known_gap"), file=str(path) if path else None))
    return cases


def _check_case_fields(d: dict, i: int, file: str) -> None:
    """Keys, types and measure parameters of one case, so a bad cases file is refused before any case runs."""
    import inspect

    for key in ("id", "title", "unit", "measure"):
        if not isinstance(d.get(key), str) or not d[key]:
            raise InputError("missing or not text", file=file, field=f"[{i}].{key}", value=d.get(key))
    if not isinstance(d.get("source", {}), dict) or not isinstance(d.get("params", {}), dict):
        raise InputError("source and params must be mappings", file=file, field=f"[{i}]")
    for key in ("published", "tolerance_rel"):
        v = d.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)):
            raise InputError("expected a finite number", file=file, field=f"[{i}].{key}", value=v)
    tol = d.get("tolerance_rel")
    if tol is not None and tol < 0:  # no modelled figure could pass
        raise InputError("tolerance_rel must be >= 0", file=file, field=f"[{i}].tolerance_rel", value=tol)
    if d.get("bound") not in (None, "min", "max"):
        raise InputError("unknown bound", file=file, field=f"[{i}].bound", value=d.get("bound"), allowed="min, max")
    if not isinstance(d.get("fast", True), bool):  # bool('no') and bool(7) were True
        raise InputError("expected true or false", file=file, field=f"[{i}].fast", value=d.get("fast"))
    _check_values(d.get("params", {}), file, f"[{i}].params")
    fn = MEASURES.get(d["measure"])
    if fn is None:
        return  # reported as an unknown measure by the caller
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(d.get("params", {})) - set(params))
        if unknown:
            raise InputError("unknown parameter of the measure", file=file, field=f"[{i}].params", value=unknown,
                             allowed=", ".join(params) or "none")
        missing = [k for k, p in params.items() if p.default is p.empty and k not in d.get("params", {})]
        if missing:
            raise InputError("missing parameter of the measure", file=file, field=f"[{i}].params", value=missing,
                             allowed=", ".join(params))
        _check_types(fn, d.get("params", {}), file, f"[{i}].params")


_KINDS = {int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
          float: ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
          str: ("text", lambda v: isinstance(v, str)), bool: ("true or false", lambda v: isinstance(v, bool))}


def _check_types(fn: Callable, params: dict, file: str, field: str) -> None:
    """A parameter annotated int, float, str or bool (or that or None) has that type: 64.5 GPUs, '64' or true
    were converted by the measure (64, 64, 1) instead of refused."""
    import types
    import typing

    hints = typing.get_type_hints(fn)
    for k, v in params.items():
        hint = hints.get(k)
        kinds = [a for a in typing.get_args(hint) if a is not type(None)] if isinstance(hint, types.UnionType) \
            else [hint]
        if v is None or len(kinds) != 1 or kinds[0] not in _KINDS:
            continue
        what, ok = _KINDS[kinds[0]]
        if not ok(v):
            raise InputError(f"expected {what}", file=file, field=f"{field}.{k}", value=v)




def _check_values(value: Any, file: str, field: str) -> None:
    """Every number in a case's parameters is finite, every integer within 0..10^15 (the scenario's computable
    range) and a GPU count (a parameter named ...gpus) within 0..MAX_GPUS, the scenario's own ceiling for a job
    (10^12 hung the layout search)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_values(v, file, f"{field}.{k}")
    elif isinstance(value, list | tuple):
        for j, v in enumerate(value):
            _check_values(v, file, f"{field}[{j}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InputError("expected a finite number", file=file, field=field, value=value)
    elif isinstance(value, int) and not isinstance(value, bool):
        top = MAX_GPUS if field.endswith("gpus") else MAX_ABS_NUMBER
        if not 0 <= value <= top:
            raise InputError("integer out of range", file=file, field=field, value=value, allowed=f"0 to {top:,.0f}")


def run_case(case: Case) -> CaseResult:
    """Run one case and judge it against its tolerance or bound."""
    t0 = time.perf_counter()
    try:
        out = MEASURES[case.measure](**case.params)
    except InputError as exc:
        if case.file is None or exc.file is not None:
            raise
        raise InputError(exc.problem, file=case.file, field=f"{case.id}.params.{exc.field}", value=exc.value,
                         allowed=exc.allowed) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        if case.file is None:  # a built-in case: a bug, left loud
            raise
        raise InputError(f"the measure {case.measure} cannot run with these parameters "
                         f"({type(exc).__name__}: {exc})", file=case.file, field=f"{case.id}.params") from None
    seconds = time.perf_counter() - t0
    if isinstance(out, tuple):
        modelled, ref = float(out[0]), float(out[1])
    else:
        modelled, ref = float(out), case.published
    if ref is None:
        raise InputError("case has no published figure and its measure computed none", field=f"{case.id}.published")
    error = (modelled - ref) / ref if ref else None
    if not math.isfinite(modelled):
        passed = False
    elif case.bound == "min":
        passed = modelled >= ref
    elif case.bound == "max":
        passed = modelled <= ref
    else:
        passed = error is not None and abs(error) <= case.tolerance_rel
    return CaseResult(case=case, modelled=modelled, error_rel=error, passed=passed, seconds=seconds, reference=ref)
