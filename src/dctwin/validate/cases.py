"""Validation cases: a published figure, its source, a tolerance, and the twin's own figure.

Cases are data (``data/cases.yaml``); each names a *measure*, a function in
the registry below that runs the relevant part of the twin and returns the
modelled figure in the published unit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

from dctwin.errors import InputError

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
    published: float
    unit: str
    measure: str
    params: dict[str, Any]
    tolerance_rel: float | None = None   # |model - published| / published allowed
    bound: str | None = None             # 'min' or 'max': published is a bound, not a point
    fast: bool = True


@dataclass(frozen=True)
class CaseResult:
    case: Case
    modelled: float
    error_rel: float | None
    passed: bool
    seconds: float

    @property
    def row(self) -> dict[str, Any]:
        c = self.case
        if c.bound == "min":
            tolerance = f">= {c.published:g}"
        elif c.bound == "max":
            tolerance = f"<= {c.published:g}"
        else:
            tolerance = f"±{c.tolerance_rel:.0%}"
        return {"case": c.id, "title": c.title, "source": f"{c.source_title} ({c.source_url})",
                "published": c.published, "modelled": self.modelled, "unit": c.unit,
                "error": self.error_rel, "tolerance": tolerance, "pass": self.passed,
                "seconds": round(self.seconds, 2)}


def load_cases(path: Path | None = None) -> list[Case]:
    """The built-in cases, or those in ``path``; each needs a source title and URL."""
    text = (Path(path).read_text(encoding="utf-8") if path else
            (resources.files("dctwin.validate") / "data" / "cases.yaml").read_text(encoding="utf-8"))
    docs = yaml.safe_load(text) or []
    cases = []
    for i, d in enumerate(docs):
        src = d.get("source", {})
        if not src.get("title") or not str(src.get("url", "")).startswith("http"):
            raise InputError("every case needs source.title and an http(s) source.url", file=str(path or "cases.yaml"),
                             field=f"[{i}].source", value=src)
        if d["measure"] not in MEASURES:
            raise InputError("unknown measure", field=f"[{i}].measure", value=d["measure"],
                             allowed=", ".join(sorted(MEASURES)))
        cases.append(Case(id=d["id"], title=d["title"], source_title=src["title"], source_url=src["url"],
                          published=float(d["published"]), unit=d["unit"], measure=d["measure"],
                          params=d.get("params", {}), tolerance_rel=d.get("tolerance_rel"), bound=d.get("bound"),
                          fast=bool(d.get("fast", True))))
    return cases


def run_case(case: Case) -> CaseResult:
    """Run one case and judge it against its tolerance or bound."""
    t0 = time.perf_counter()
    modelled = float(MEASURES[case.measure](**case.params))
    seconds = time.perf_counter() - t0
    error = (modelled - case.published) / case.published if case.published else None
    if not math.isfinite(modelled):
        passed = False
    elif case.bound == "min":
        passed = modelled >= case.published
    elif case.bound == "max":
        passed = modelled <= case.published
    else:
        passed = error is not None and abs(error) <= case.tolerance_rel
    return CaseResult(case=case, modelled=modelled, error_rel=error, passed=passed, seconds=seconds)
