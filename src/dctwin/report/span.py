"""What span a run covers, what its KPIs are based on, and the warnings a short run needs.

A run shorter than a year still reports horizon figures (TCO, cost per
GPU-hour, LCOC, NPV, cost per million tokens): the accounting repeats the
simulated span scaled to 8,760 h for each year of the finance horizon. The
report says so, next to every such KPI and once at the top; ``compare`` says
when the runs it puts side by side cover different spans or steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["YEAR_H", "Span", "basis_text", "compare_warnings", "span_of", "span_warnings"]

YEAR_H = 8760.0
SHORT_H = 0.99 * YEAR_H   # a 365-day run is a year; anything clearly shorter is annualised


@dataclass(frozen=True)
class Span:
    """The simulated span of one run [h] and its facility step [s] (None when the run did not say)."""

    hours: float | None
    step_s: float | None
    horizon_years: float | None

    @property
    def short(self) -> bool:
        return self.hours is not None and self.hours < SHORT_H

    @property
    def text(self) -> str:
        if self.hours is None:
            return "an unknown span"
        if self.hours < 48:
            return f"{self.hours:,.0f} h"
        return f"{self.hours / 24:,.0f} days"

    @property
    def step_text(self) -> str:
        if self.step_s is None:
            return "unknown step"
        if self.step_s < 60:
            return f"{self.step_s:g}-s steps"
        return f"{self.step_s / 60:g}-min steps" if self.step_s < 3600 else f"{self.step_s / 3600:g}-h steps"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def span_of(kpis: dict[str, Any], manifest: dict[str, Any]) -> Span:
    """The span of a run from its KPIs (``run_hours``) or manifest (``n_steps`` x ``step_s``)."""
    hours = _num(kpis.get("run_hours"))
    step_s = _num(manifest.get("step_s"))
    if hours is None and step_s is not None and _num(manifest.get("n_steps")) is not None:
        hours = step_s * float(manifest["n_steps"]) / 3600.0
    return Span(hours=hours, step_s=step_s, horizon_years=_num(kpis.get("horizon_years")))


def basis_text(basis: str | None, span: Span) -> str:
    """What a KPI of ``basis`` covers, in words, for this run."""
    years = f"{span.horizon_years:g}-year horizon" if span.horizon_years else "finance horizon"
    if basis == "run":
        return f"simulated {span.text}"
    if basis in ("horizon", "year"):
        per = "per year of the " if basis == "year" else ""
        if span.short:
            return f"{per}{years}, annualised from {span.text}"
        return f"{per}{years}"
    return "independent of the span" if basis == "fixed" else ""


def span_warnings(kpis: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """Warnings the report of a run shorter than a year carries (empty for a year or longer)."""
    span = span_of(kpis, manifest)
    if not span.short:
        return []
    scale = YEAR_H / span.hours
    out = [(f"This run covers {span.text} ({span.hours:,.0f} h), not a year. Totals (energy, heat, emissions, "
           f"jobs, GPU-hours) cover those {span.text} only.")]
    out.append(f"Horizon figures (total cost of ownership, cost per GPU-hour, levelised cost, NPV, cost per "
               f"million tokens) and opex per year are annualised: each year of the horizon repeats these "
               f"{span.text} scaled by {scale:,.1f} to 8,760 h. Weather, prices and heat demand of the rest of "
               f"the year are not in them, and a cluster filling up from empty weighs {scale:,.0f} times more "
               f"than it would in a year's run. Run a full year before quoting them.")
    util = _num(kpis.get("mean_utilisation"))
    if util is not None:
        out.append(f"Mean GPU utilisation over this span was {100 * util:.1f} %; unit costs divide the annualised "
                   f"cost by the GPU-hours used in it.")
    if span.hours < 60 * 24:
        out.append("Monthly figures are drawn by day: the run is shorter than two months.")
    return out


def compare_warnings(spans: list[tuple[str, Span]]) -> list[str]:
    """Warnings for runs of different spans or steps put side by side (first run is the baseline)."""
    out = []
    hours = {name: s.hours for name, s in spans}
    if len({round(h or 0.0, 3) for h in hours.values()}) > 1:
        listed = ", ".join(f"{name}: {s.text}" for name, s in spans)
        out.append(f"These runs cover different spans ({listed}). Totals (energy, heat, emissions, jobs) are not "
                   f"comparable; their differences below are mostly the difference in span. Horizon figures of "
                   f"a run shorter than a year are annualised from its span.")
    steps = {s.step_s for _, s in spans}
    if len(steps) > 1:
        listed = ", ".join(f"{name}: {s.step_text}" for name, s in spans)
        out.append(f"These runs use different facility steps ({listed}); step means and peaks (peak grid power, "
                   f"hours over capacity) depend on the step.")
    short = [name for name, s in spans if s.short]
    if short and len(short) < len(spans):
        out.append("Annualised from less than a year: " + ", ".join(short) + ".")
    return out
