"""The dashboard's run form: a few scenario parameters over the default scenario.

Each field is checked here for type and range (one message per bad field),
then the overridden scenario is validated by ``dctwin.config`` as any file
would be, so the dashboard cannot start a run the CLI would refuse.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dctwin.errors import DctwinError
from dctwin.web.runs import RUN_NAME, valid_run_name

__all__ = ["FIELDS", "FormError", "build_scenario", "defaults", "parse_form", "policy_names"]

MAX_DESCRIPTION = 2000


class FormError(DctwinError):
    """The form has bad fields; ``errors`` maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: type
    lo: float | None = None
    hi: float | None = None
    unit: str = ""


FIELDS = (
    Field("racks", "Racks (first phase)", int, 1, 5000, "racks"),
    Field("liquid_supply_temp_c", "Liquid cooling supply setpoint", float, 15, 60, "°C"),
    Field("power_cap_mw", "Facility power cap (all phases)", float, 0.1, 10_000, "MW"),
    Field("duration_days", "Simulated days", int, 1, 366, "days"),
)


def policy_names() -> list[str]:
    """Scheduling policies from the cluster registry."""
    from dctwin.cluster.policies import POLICIES

    return sorted(POLICIES)


def defaults(base: Mapping[str, Any]) -> dict[str, Any]:
    """Form values taken from the default scenario."""
    phases = base.get("phases") or [{}]
    racks = (phases[0].get("racks") or [{}])[0].get("count", 1)
    return {
        "run_name": "",
        "racks": _tidy(racks),
        "liquid_supply_temp_c": base.get("facility", {}).get("cooling", {}).get("liquid_supply_temp_c", 45),
        "power_cap_mw": phases[-1].get("power_envelope_mw", 1),
        "duration_days": _tidy(base.get("simulation", {}).get("duration_days", 365)),
        "policy": base.get("scheduler", {}).get("policy", "easy_backfill"),
        "description": "",
    }


def _tidy(value: Any) -> Any:
    """Whole floats shown without '.0' in the form."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _number(raw: str, f: Field) -> tuple[Any, str | None]:
    text = (raw or "").strip()
    if not text:
        return None, "required"
    try:
        value = float(text)
        if f.kind is int:
            if not value.is_integer():
                raise ValueError(text)
            value = int(value)
    except (ValueError, OverflowError):
        return None, f"must be {'a whole number' if f.kind is int else 'a number'} (got {text[:40]!r})"
    if f.kind is float and not math.isfinite(value):
        return None, "must be a number"
    if (f.lo is not None and value < f.lo) or (f.hi is not None and value > f.hi):
        return None, f"must be between {f.lo:g} and {f.hi:g} {f.unit} (got {text[:40]})".rstrip()
    return value, None


def parse_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Typed, range-checked values of the form, or ``FormError`` listing every bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in FIELDS:
        values[f.name], err = _number(str(form.get(f.name, "")), f)
        if err:
            errors[f.name] = err
    policy = str(form.get("policy", "")).strip()
    allowed = policy_names()
    if policy not in allowed:
        errors["policy"] = f"unknown policy {policy[:40]!r}; allowed: {', '.join(allowed)}"
    values["policy"] = policy
    name = str(form.get("run_name", "")).strip()
    if name and not valid_run_name(name):
        errors["run_name"] = (f"{name[:40]!r} is not a valid run name; allowed: letters, digits, '.', '_' and '-', "
                              f"starting with a letter or digit (pattern {RUN_NAME.pattern})")
    values["run_name"] = name
    desc = str(form.get("description", ""))
    if len(desc) > MAX_DESCRIPTION:
        errors["description"] = f"at most {MAX_DESCRIPTION} characters (got {len(desc)})"
    values["description"] = desc
    if errors:
        raise FormError(errors)
    return values


def build_scenario(base: Mapping[str, Any], values: Mapping[str, Any]):
    """The default scenario with the form's overrides, validated (``ScenarioError`` if it does not)."""
    from dctwin.config import scenario_from_dict

    data = copy.deepcopy(dict(base))
    data["phases"][0]["racks"][0]["count"] = values["racks"]
    for phase in data["phases"]:
        phase["power_envelope_mw"] = values["power_cap_mw"]
    data.setdefault("facility", {}).setdefault("cooling", {})["liquid_supply_temp_c"] = values["liquid_supply_temp_c"]
    data.setdefault("scheduler", {})["policy"] = values["policy"]
    data.setdefault("simulation", {})["duration_days"] = values["duration_days"]
    if values.get("description"):
        data["description"] = values["description"]
    return scenario_from_dict(data, source="dashboard form")


def default_run_name(scenario_name: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{scenario_name}-{stamp}"[:120]
