"""Sweep files: a base scenario, grid axes and Monte Carlo repetitions, expanded into runs.

Every expanded scenario is validated before any run starts, so a bad axis
fails in a second, not after an hour of runs.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from dctwin.config import Scenario, load_scenario, scenario_from_dict
from dctwin.config.base import Section
from dctwin.config.load import deep_merge, read_yaml
from dctwin.errors import ScenarioError
from dctwin.sweep.distributions import Uncertainty

__all__ = ["SweepSpec", "SweepRun", "axis_labels", "load_sweep", "expand_sweep", "set_path"]

_PATH_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
MAX_RUNS = 100_000


class Axis(Section):
    field: str = Field(description="Dotted scenario field path, e.g. 'facility.cooling.liquid_supply_temp_c' "
                                   "or 'phases[0].racks[0].count'.")
    values: list[Any] = Field(min_length=1, max_length=1000, description="Values the field takes.")
    label: str | None = Field(None, description="Short name in tables and figures (default: last path part).")

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[Any]) -> list[Any]:
        seen = [json.dumps(float(v) if isinstance(v, float) or (type(v) is int and abs(v) < 2**53) else v,
                           sort_keys=True, default=str) for v in values]  # 1 and 1.0 are one value
        if len(set(seen)) != len(seen):
            raise ValueError("values must be distinct (a repeated value would give two runs the same id)")
        return values


class MonteCarlo(Section):
    repetitions: int = Field(1, ge=1, le=10_000, description="Runs per design point, each with its own seed.")
    seed_start: int = Field(1, ge=0, description="Seed of the first repetition; repetition r uses seed_start + r.")


class SweepSpec(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=120, description="Sweep name.")
    base: str = Field("borlange-2027", description="Base scenario: packaged name or path.")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Applied to every run before the axes.")
    axes: list[Axis] = Field(default_factory=list, max_length=20, description="Grid axes (cartesian product).")
    monte_carlo: MonteCarlo = Field(default_factory=MonteCarlo)
    uncertainty: Uncertainty | None = Field(
        None, description="Uncertain inputs with distributions: a Sobol'/LHS study instead of a grid (no axes).")

    @model_validator(mode="after")
    def _study_or_grid(self) -> SweepSpec:
        if self.uncertainty is not None and (self.axes or self.monte_carlo.repetitions > 1):
            raise ValueError("an uncertainty study takes no axes and no Monte Carlo repetitions")
        return self

    @model_validator(mode="after")
    def _no_field_the_sweep_sets(self) -> SweepSpec:
        """Each run's name and seed come from the sweep; an axis or override of them would be silently lost."""
        sets = {"name": "each run is named by the sweep", "simulation.seed": "seeds come from monte_carlo.seed_start "
                "(repetition r uses seed_start + r)"}
        over = self.overrides.get("simulation")
        given = [a.field for a in self.axes] + ["name"] * ("name" in self.overrides)
        given += ["simulation.seed"] * (isinstance(over, dict) and "seed" in over)
        for field in given:
            if field in sets:
                raise ValueError(f"'{field}' cannot be set by a sweep: {sets[field]}")
        return self

    @field_validator("axes")
    @classmethod
    def _unique_fields(cls, axes: list[Axis]) -> list[Axis]:
        fields = [a.field for a in axes]
        if len(set(fields)) != len(fields):
            raise ValueError("each field may appear on one axis only")
        labels = [a.label for a in axes if a.label is not None]
        if len(set(labels)) != len(labels):
            raise ValueError("each axis label must be distinct (two axes with one label would share a column)")
        return axes


@dataclass(frozen=True)
class SweepRun:
    """One expanded run: its id, design point, repetition, seed and validated scenario."""

    run_id: str
    point_id: str
    repetition: int
    seed: int
    axis_values: dict[str, Any]
    scenario: Scenario


def _tokens(path: str, where: str, source: str) -> list[str | int]:
    pos, out = 0, []
    for m in _PATH_TOKEN.finditer(path):
        if m.start() != pos and path[pos:m.start()] != ".":
            break
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not out:
        raise ScenarioError("not a field path", file=source, field=where, value=path,
                            allowed="dotted names with [index], e.g. phases[0].racks[0].count")
    return out


def set_path(doc: dict[str, Any], path: str, value: Any, where: str = "field", source: str = "<sweep>") -> None:
    """Set ``path`` in a resolved scenario mapping; the path must already exist there."""
    tokens = _tokens(path, where, source)
    node: Any = doc
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        ok = (isinstance(tok, int) and isinstance(node, list) and tok < len(node)) or (
            isinstance(tok, str) and isinstance(node, dict) and tok in node)
        if not ok:
            shown = ".".join(str(t) for t in tokens[: i + 1])
            choices = (", ".join(sorted(node)) if isinstance(node, dict)
                       else f"indices 0..{len(node) - 1}" if isinstance(node, list) else "no sub-fields")
            raise ScenarioError(f"unknown scenario field '{shown}'", file=source, field=where, value=path,
                                allowed=choices)
        if last:
            node[tok] = value
        else:
            node = node[tok]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError("sweep file not found", file=str(path))
    data = read_yaml(path, what="a sweep file")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in e["loc"])
        raise ScenarioError(e["msg"].removeprefix("Value error, "), file=str(path), field=field,
                            value=None if isinstance(e.get("input"), dict) else e.get("input")) from None
    base = spec.base
    try:
        local = not Path(base).is_absolute() and (path.parent / base).is_file()
    except (OSError, ValueError):  # a name the OS refuses (too long, NUL byte): reported by expand_sweep
        local = False
    if local:
        spec = spec.model_copy(update={"base": str((path.parent / base).resolve())})
    return spec


def axis_labels(axes: list[Axis]) -> list[str]:
    """One distinct column label per axis: its ``label``, else the last path part, else the full path
    when two axes' paths end in the same name (``...dev.peak_hour`` and ``...inference[0].peak_hour``)."""
    short = [a.label or str(_tokens(a.field, "", "<sweep>")[-1]) for a in axes]
    labels = [s if a.label or short.count(s) == 1 else a.field for a, s in zip(axes, short, strict=True)]
    if len(set(labels)) != len(labels):
        raise ScenarioError("two axes would share one column label", field="axes[].label",
                            allowed="distinct labels (a label may not repeat another axis's field path)")
    return labels


def point_name(index: int, axis_values: dict[str, Any]) -> str:
    """A design point named by its values, e.g. ``p001_liquid_supply_temp_c-40_count-100`` (index keeps it unique;
    characters outside letters, digits, '.', '_' and '-' become '-'; at most 90 characters)."""
    def clean(x: Any) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", str(x)).strip("-") or "-"
    body = "_".join(f"{clean(k)}-{clean(v)}" for k, v in axis_values.items())
    return (f"p{index:03d}_{body}" if body else f"p{index:03d}")[:90].rstrip("_-.")


def expand_sweep(spec: SweepSpec, source: str = "<sweep>") -> list[SweepRun]:
    """Every run of the sweep, validated; raises ScenarioError naming the axis and value at fault."""
    try:
        base = load_scenario(spec.base).model_dump(mode="json")
    except ScenarioError as exc:
        raise ScenarioError(f"base scenario: {exc}", file=source, field="base", value=spec.base[:200]) from None
    base = deep_merge(base, spec.overrides)
    n_points = 1
    for axis in spec.axes:
        n_points *= len(axis.values)
    if n_points * spec.monte_carlo.repetitions > MAX_RUNS:
        raise ScenarioError(f"sweep expands to {n_points * spec.monte_carlo.repetitions} runs", file=source,
                            allowed=f"at most {MAX_RUNS}")
    for i, axis in enumerate(spec.axes):  # check every path once, against the base
        set_path(copy.deepcopy(base), axis.field, axis.values[0], where=f"axes[{i}].field", source=source)
    runs: list[SweepRun] = []
    labels = axis_labels(spec.axes)
    reps = spec.monte_carlo.repetitions
    for combo in itertools.product(*(a.values for a in spec.axes)):
        doc = copy.deepcopy(base)
        for i, (axis, value) in enumerate(zip(spec.axes, combo, strict=True)):
            set_path(doc, axis.field, value, where=f"axes[{i}].field", source=source)
        axis_values = {label: value for label, value in zip(labels, combo, strict=True)}
        point_id = point_name(len(runs) // reps, axis_values)
        point = _validated_point(spec, doc, point_id, combo, source)
        for rep in range(reps):
            seed = spec.monte_carlo.seed_start + rep
            runs.append(SweepRun(run_id=f"{point_id}-r{rep}", point_id=point_id, repetition=rep, seed=seed,
                                 axis_values=axis_values, scenario=_repetition(point, spec.name, point_id, rep, seed)))
    return runs


def _validated_point(spec: SweepSpec, doc: dict[str, Any], point_id: str, combo: tuple[Any, ...],
                     source: str) -> Scenario:
    """The design point validated once, as its last repetition: the largest seed and the longest name the point
    uses, so the seed range and the name's length are checked for every repetition by this one validation."""
    last = spec.monte_carlo.repetitions - 1
    doc["simulation"]["seed"] = spec.monte_carlo.seed_start + last
    doc["name"] = f"{spec.name}-{point_id}-r{last}"
    try:
        return scenario_from_dict(doc, source=source)
    except ScenarioError as exc:
        where = ", ".join(f"{a.field}={v!r}" for a, v in zip(spec.axes, combo, strict=True))
        raise ScenarioError(f"the run with {where or 'the base values'} is not a valid scenario: "
                            f"{exc.problem}", file=source, field=exc.field, value=exc.value,
                            allowed=exc.allowed) from None


def _repetition(point: Scenario, sweep: str, point_id: str, rep: int, seed: int) -> Scenario:
    """Repetition ``rep`` of a validated point: only its name and seed differ, and both lie within what the point's
    validation checked (same characters, no longer name, no larger seed), so nothing is validated again. The
    frozen sections it shares with the point are never mutated."""
    if seed == point.simulation.seed:
        return point
    simulation = point.simulation.model_copy(update={"seed": seed})
    return point.model_copy(update={"name": f"{sweep}-{point_id}-r{rep}", "simulation": simulation})
