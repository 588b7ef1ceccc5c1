"""KPI labels, units and formatting for the summary tables.

Keys follow the run's ``kpis.json`` (units in the key); any key is optional
and keys not listed here are shown after the known ones with their raw name.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["KPI_GROUPS", "compare_rows", "format_value", "kpi_rows"]

# (key, label, unit, decimals)
KPI_GROUPS: dict[str, list[tuple[str, str, str, int]]] = {
    "Energy": [
        ("pue", "PUE", "", 3),
        ("it_energy_mwh", "IT energy", "MWh", 0),
        ("grid_energy_mwh", "Grid energy", "MWh", 0),
        ("chiller_hours", "Chiller hours", "h", 0),
        ("wue_l_per_kwh", "WUE", "L/kWh", 3),
    ],
    "Cooling limits": [
        ("cooling_limited_hours", "Hours cooling capped the GPUs", "h", 1),
        ("cooling_withheld_gpu_hours", "GPU-hours withheld by cooling", "GPU-h", 0),
        ("cooling_shortfall_hours", "Hours over cooling capacity", "h", 0),
        ("throttled_it_mwh", "IT energy throttled", "MWh", 1),
        ("max_cooling_shortfall_mw", "Largest shortfall", "MW", 2),
    ],
    "Heat reuse": [
        ("heat_delivered_mwh", "Heat delivered", "MWh", 0),
        ("erf", "Energy reuse factor (ERF)", "", 3),
    ],
    "Compute": [
        ("mean_utilisation", "Mean GPU utilisation", "", 3),
        ("goodput_frac", "Goodput", "", 3),
    ],
    "Cost": [
        ("tco_eur", "Total cost of ownership", "EUR", 0),
        ("capex_eur", "Capex", "EUR", 0),
        ("eur_per_gpu_hour_used", "Cost per GPU-hour used", "EUR/GPU-h", 3),
    ],
    "Carbon": [
        ("emissions_market_t", "Emissions (market-based)", "t CO2e", 1),
        ("emissions_location_t", "Emissions (location-based)", "t CO2e", 1),
        ("cue_kg_per_kwh", "CUE", "kg CO2e/kWh", 4),
    ],
}

_KNOWN = {key for rows in KPI_GROUPS.values() for key, *_ in rows}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def format_value(value: Any, decimals: int = 3) -> str:
    """A KPI value as text: thousands separators, fixed decimals; others via ``str``."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            return str(value)
        if isinstance(value, int):
            return f"{value:,}"
        if abs(value) >= 1000:
            decimals = min(decimals, 0)
        return f"{value:,.{decimals}f}"
    return str(value)


def _unit_of(key: str) -> str:
    for suffix, unit in (("_mwh", "MWh"), ("_kwh", "kWh"), ("_eur", "EUR"), ("_t", "t"), ("_h", "h"),
                         ("_frac", ""), ("_mw", "MW"), ("_kw", "kW"), ("_s", "s")):
        if key.endswith(suffix):
            return unit
    return ""


def kpi_cards(kpis: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The headline KPIs (those listed in ``KPI_GROUPS``) present in ``kpis``, in their order."""
    return [(g, label, format_value(kpis[key], dec), unit)
            for g, items in KPI_GROUPS.items() for key, label, unit, dec in items if key in kpis]


def kpi_rows(kpis: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(group, label, value, unit)`` rows for the KPIs present, known ones first."""
    rows = []
    for group, items in KPI_GROUPS.items():
        for key, label, unit, dec in items:
            if key in kpis:
                rows.append((group, label, format_value(kpis[key], dec), unit))
    extra = []
    for key in sorted(k for k in kpis if k not in _KNOWN):
        value = kpis[key]
        if isinstance(value, (dict, list)):
            continue
        extra.append((_group_of(key), key, format_value(value), _unit_of(key)))
    order = list(KPI_GROUPS) + ["Other"]
    return rows + sorted(extra, key=lambda r: order.index(r[0]))


def _group_of(key: str) -> str:
    """A group for a KPI key not listed in ``KPI_GROUPS``, from its name."""
    k = key.lower()
    if k.startswith("eur_per") or k.endswith("_eur") or "cost" in k:
        return "Cost"
    if "emission" in k or "co2" in k or "carbon" in k or k.startswith("cue"):
        return "Carbon"
    if "heat" in k or k.startswith("erf"):
        return "Heat reuse"
    if "gpu" in k or "util" in k or "job" in k or "wait" in k or "goodput" in k or "token" in k:
        return "Compute"
    if k.endswith(("_mwh", "_kwh")) or "pue" in k or "water" in k or "wue" in k:
        return "Energy"
    return "Other"


def compare_rows(kpi_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per KPI: values per run and the difference of each run from the first.

    Each row: ``{"group", "label", "unit", "values": [str], "diffs": [str]}``;
    a difference is absolute and relative, or ``""`` when it cannot be taken.
    """
    keys: list[tuple[str, str, str, str, int]] = []
    for group, items in KPI_GROUPS.items():
        for key, label, unit, dec in items:
            if any(key in k for k in kpi_sets):
                keys.append((group, key, label, unit, dec))
    others = sorted({k for ks in kpi_sets for k, v in ks.items() if k not in _KNOWN and _is_number(v)})
    keys += [("Other", k, k, _unit_of(k), 3) for k in others]
    rows = []
    for group, key, label, unit, dec in keys:
        vals = [k.get(key) for k in kpi_sets]
        base = vals[0]
        diffs = [""]
        for v in vals[1:]:
            if _is_number(base) and _is_number(v):
                d = float(v) - float(base)
                rel = f" ({d / float(base):+.1%})" if float(base) != 0 else ""
                diffs.append(f"{d:+,.{dec if abs(d) < 1000 else 0}f}{rel}")
            else:
                diffs.append("")
        rows.append({"group": group, "label": label, "unit": unit,
                     "values": [format_value(v, dec) for v in vals], "diffs": diffs})
    return rows
