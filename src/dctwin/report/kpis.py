"""KPI rows of the report, dashboard and compare tables: labels, units and formats from the results schema.

Every row carries the label, unit and basis (what span the number covers) of
its key from ``dctwin.results.schema``; a key the schema lacks is still shown,
under its raw name, flagged ``known=False`` (the schema tests fail on it).
"""

from __future__ import annotations

import math
from typing import Any

from dctwin.report.span import Span, basis_text, span_of
from dctwin.results.schema import Field, format_value, lookup, schema

__all__ = ["GROUPS", "compare_rows", "format_value", "kpi_cards", "kpi_rows"]

GROUPS = ("Energy", "Cooling", "Heat reuse", "Build-out", "Compute", "Jobs", "Inference", "Cost", "Carbon",
          "Operation", "Other")
# Totals over the simulated span: a difference between runs of different spans says little.
EXTENSIVE = frozenset({"energy", "count", "money", "mass", "gpu_time", "volume", "duration", "quantity"})


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _fields(keys: list[str]) -> list[tuple[str, Field]]:
    """``(key, field)`` in group order, then schema order; unknown keys get a placeholder field."""
    order = {k.split("@")[0]: i for i, k in enumerate(schema())}
    out = []
    for key in keys:
        f = lookup(key, "kpis")
        if f is None:
            f = Field(name=key, label=key, unit="?", kind="quantity", desc="", group="Other", key=key)
        out.append((key, f))
    rank = {g: i for i, g in enumerate(GROUPS)}
    return sorted(out, key=lambda kf: (rank.get(kf[1].group or "Other", len(GROUPS)), not kf[1].headline,
                                       order.get(kf[1].key.split("@")[0], len(order)), kf[0]))


def _row(key: str, f: Field, value: Any, span: Span) -> dict[str, Any]:
    return {"group": f.group or "Other", "key": key, "label": f.label, "value": f.format(value),
            "unit": f.display_unit, "basis": basis_text(f.basis, span), "desc": f.desc,
            "known": f.unit != "?", "headline": f.headline, "annualised": span.short and f.basis in ("horizon", "year")}


def kpi_rows(kpis: dict[str, Any], manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per scalar KPI: ``group, key, label, value, unit, basis, desc, known, annualised``."""
    span = span_of(kpis, manifest or {})
    keys = [k for k, v in kpis.items() if not isinstance(v, (dict, list))]
    return [_row(k, f, kpis[k], span) for k, f in _fields(keys)]


def kpi_cards(kpis: dict[str, Any], manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The headline KPIs (``headline: true`` in the schema) present in ``kpis``."""
    return [r for r in kpi_rows(kpis, manifest) if r["headline"]]


def _diff(f: Field, base: Any, v: Any, comparable: bool) -> str:
    if not (_is_number(base) and _is_number(v)):
        return ""
    if not comparable and f.basis == "run" and f.kind in EXTENSIVE:
        return "spans differ"
    d = (float(v) - float(base)) / f.divide
    if f.kind == "share":
        return f"{100 * d:+,.1f} points"
    text = format_value(abs(d), f.kind)
    relative = float(base) != 0 and f.kind not in ("temperature", "time")
    rel = f" ({(float(v) - float(base)) / float(base):+.1%})" if relative else ""
    if text.strip("0.,") == "":
        return "0" + rel
    return ("+" if d >= 0 else "-") + text + rel


def compare_rows(kpi_sets: list[dict[str, Any]], manifests: list[dict[str, Any]] | None = None
                 ) -> list[dict[str, Any]]:
    """One row per KPI: values per run and the difference of each run from the first.

    Each row: ``{"group", "key", "label", "unit", "basis", "values": [str], "diffs": [str]}``. When the
    runs cover different spans, totals over the span show ``spans differ`` instead of a difference.
    """
    manifests = manifests or [{} for _ in kpi_sets]
    spans = [span_of(k, m) for k, m in zip(kpi_sets, manifests, strict=True)]
    comparable = len({round(s.hours or 0.0, 3) for s in spans}) <= 1
    keys = list(dict.fromkeys(k for ks in kpi_sets for k, v in ks.items() if _is_number(v) or v is None))
    rows = []
    for key, f in _fields(keys):
        vals = [k.get(key) for k in kpi_sets]
        diffs = [""] + [_diff(f, vals[0], v, comparable) for v in vals[1:]]
        basis = basis_text(f.basis, spans[0]) if comparable else ("each run's own span" if f.basis == "run"
                                                                   else basis_text(f.basis, spans[0]))
        rows.append({"group": f.group or "Other", "key": key, "label": f.label, "unit": f.display_unit,
                     "basis": basis, "known": f.unit != "?", "values": [f.format(v) for v in vals],
                     "diffs": diffs})
    return rows
