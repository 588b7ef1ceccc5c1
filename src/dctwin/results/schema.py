"""The one results schema: label, unit, kind and meaning of every column and KPI a run writes.

The entries live in ``schema.yaml`` beside this module. The report, the
dashboard, the compare page, the CLI summary and ``docs/glossary.md`` all take
their labels and units from here, and format each number for its kind:
counts without decimals, money with thousands separators, shares as per cent.

Per-service names (``eur_per_mtok__<svc>``, ``<svc>__gpus_busy``) match their
``<svc>`` template; ``name@section`` entries override a name for one table.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from dctwin.datafile import load_yaml_text

__all__ = ["SVC", "Field", "field", "format_value", "lookup", "schema", "unlabelled"]

SVC = "<svc>"
KINDS = frozenset({"count", "money", "price", "share", "percent", "ratio", "energy", "power", "temperature",
                   "duration", "time", "gpu_time", "rate", "flow", "volume", "mass", "intensity", "quantity",
                   "text", "id", "flag", "timestamp"})
BASES = frozenset({"run", "horizon", "year", "fixed"})


@dataclass(frozen=True)
class Field:
    """One column or KPI: ``label`` and ``unit`` as a person reads them, ``kind`` for formatting."""

    name: str
    label: str
    unit: str
    kind: str
    desc: str
    group: str | None = None
    basis: str | None = None
    show_unit: str | None = None
    divide: float = 1.0
    headline: bool = False
    optional: bool = False  # written only with some scenario settings
    key: str = ""          # the schema entry it came from (a ``<svc>`` template for per-service names)

    @property
    def display_unit(self) -> str:
        """The unit shown next to a formatted value (shares are shown in per cent)."""
        if self.show_unit:
            return self.show_unit
        return "%" if self.kind == "share" else self.unit

    def format(self, value: Any) -> str:
        """``value`` as text for its kind, in ``display_unit``."""
        if _is_number(value) and self.divide != 1.0:
            value = float(value) / self.divide
        return format_value(value, self.kind)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _significant(x: float) -> str:
    """Thousands separators; about three significant figures below 100."""
    a = abs(x)
    if a >= 100 or x == 0:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.1f}"
    if a >= 1:
        return f"{x:,.2f}"
    return f"{x:.{min(6, 2 - math.floor(math.log10(a)))}f}"


def format_value(value: Any, kind: str) -> str:
    """A value as a person reads it: ``-`` for none, ``n/a`` for NaN, then by ``kind``."""
    if value is None:
        return "-"
    if kind == "flag" or isinstance(value, bool):
        return "yes" if bool(value) else "no"
    if not _is_number(value):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "unlimited" if x > 0 else "-unlimited"
    if kind == "count":
        return f"{x:,.0f}"
    if kind in ("money", "price") and 1 <= abs(x) < 100:
        return f"{x:,.2f}"
    if kind == "money":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    if kind == "share":
        return f"{100 * x:,.1f}"
    if kind == "percent":
        return f"{x:,.1f}"
    if kind == "ratio":
        return f"{x:,.3f}"
    if kind in ("id", "text"):
        return f"{x:g}"
    return _significant(x)


def _field(name: str, entry: dict[str, Any]) -> Field:
    show = entry.get("show") or {}
    return Field(name=name, label=str(entry["label"]), unit=str(entry["unit"]), kind=str(entry["kind"]),
                 desc=str(entry["desc"]), group=entry.get("group"), basis=entry.get("basis"),
                 show_unit=show.get("unit"), divide=float(show.get("divide", 1.0)),
                 headline=bool(entry.get("headline", False)),
                 optional=bool(entry.get("optional", False)), key=name)


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Field]:
    """Every schema entry by its key (``name``, ``name@section`` or a ``<svc>`` template)."""
    text = (resources.files("dctwin.results") / "schema.yaml").read_text(encoding="utf-8")
    return {str(k): _field(str(k), v) for k, v in load_yaml_text(text)["names"].items()}


def _templates(name: str) -> list[tuple[str, str]]:
    """``(template, service)`` pairs a per-service name may match: ``<svc>__rest`` or ``rest__<svc>``."""
    if "__" not in name:
        return []
    head, tail = name.split("__", 1)
    first, last = name.rsplit("__", 1)
    return [(f"{SVC}__{tail}", head), (f"{first}__{SVC}", last)]


def lookup(name: str, section: str | None = None) -> Field | None:
    """The schema field of a column or KPI, or None when the schema has no entry for it."""
    entries = schema()
    for key in ([f"{name}@{section}"] if section else []) + [name]:
        if key in entries:
            return entries[key]
    for template, svc in _templates(name):
        for key in ([f"{template}@{section}"] if section else []) + [template]:
            if key in entries:
                f = entries[key]
                return Field(**{**f.__dict__, "name": name, "label": f.label.replace("{svc}", svc),
                                "desc": f.desc.replace(SVC, svc)})
    return None


def field(name: str, section: str | None = None) -> Field:
    """Like ``lookup`` but a name the schema lacks raises ``KeyError`` naming it."""
    f = lookup(name, section)
    if f is None:
        raise KeyError(f"'{name}' ({section or 'any table'}) has no entry in dctwin/results/schema.yaml")
    return f


def unlabelled(names: list[str] | tuple[str, ...], section: str | None = None) -> list[str]:
    """Names without a schema entry, or whose entry lacks a label, unit or known kind."""
    bad = []
    for n in names:
        f = lookup(n, section)
        complete = f is not None and f.label.strip() and f.unit.strip() and f.kind in KINDS
        if not complete or (section == "kpis" and (f.group is None or f.basis not in BASES)):
            bad.append(n)
    return bad
