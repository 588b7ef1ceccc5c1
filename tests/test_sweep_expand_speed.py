"""A sweep validates each design point once; every repetition derived from it equals a fully validated run."""

from __future__ import annotations

import copy
import textwrap

import pytest
import yaml
from pydantic import BaseModel

import dctwin.sweep.spec as spec_mod
from dctwin.config import load_scenario, scenario_from_dict
from dctwin.config.load import deep_merge
from dctwin.errors import ScenarioError
from dctwin.stages.cache import _key
from dctwin.stages.chain import ACCOUNTING_SECTIONS, _sections
from dctwin.sweep import expand_sweep, load_sweep
from dctwin.sweep.spec import set_path

SWEEP = """\
    name: reps
    base: borlange-2027
    overrides: {simulation: {duration_days: 7}}
    axes:
      - field: facility.cooling.liquid_supply_temp_c
        values: [40, 45]
      - field: phases[0].racks[0].count
        values: [80, 100]
    monte_carlo: {repetitions: 12, seed_start: 7}
"""
STAGE_SECTIONS = {"site": ("site", "simulation"), "operation": ("operation", "simulation"),
                  "workload": ("workload", "simulation"), "facility": ("facility", "simulation"),
                  "accounting": ACCOUNTING_SECTIONS}


def sweep_file(tmp_path, body: str):
    p = tmp_path / "sweep.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def fully_validated(spec, run) -> object:
    """The run as the sweep used to build it: a deep copy of the base and a full validation per repetition."""
    doc = deep_merge(load_scenario(spec.base).model_dump(mode="json"), spec.overrides)
    for axis, value in zip(spec.axes, run.axis_values.values(), strict=True):
        set_path(doc, axis.field, value)
    doc = copy.deepcopy(doc)
    doc["simulation"]["seed"] = run.seed
    doc["name"] = f"{spec.name}-{run.run_id}"
    return scenario_from_dict(doc)


def assert_same_model(a, b, where: str = "scenario") -> None:
    """Field for field: same types, same values, same set fields and same private state, at every depth."""
    assert type(a) is type(b), where
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        assert (a.__pydantic_private__ or {}) == (b.__pydantic_private__ or {}), where
        for name in type(a).model_fields:
            assert_same_model(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_model(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same_model(a[k], b[k], f"{where}[{k!r}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_every_repetition_equals_a_fully_validated_run(tmp_path):
    p = sweep_file(tmp_path, SWEEP)
    spec = load_sweep(p)
    runs = expand_sweep(spec, source=str(p))
    assert len(runs) == 2 * 2 * 12
    for run in runs:
        ref = fully_validated(spec, run)
        assert_same_model(run.scenario, ref)
        assert run.scenario == ref
        assert run.scenario.simulation.seed == run.seed and run.scenario.name == f"reps-{run.run_id}"
        # the run's bytes (scenario.yaml of its run folder) and every stage cache key are the same
        dump = run.scenario.model_dump(mode="json")
        assert yaml.safe_dump(dump, sort_keys=False) == yaml.safe_dump(ref.model_dump(mode="json"), sort_keys=False)
        assert run.scenario.model_dump_json() == ref.model_dump_json()
        for stage, names in STAGE_SECTIONS.items():
            assert _key(stage, _sections(run.scenario, *names)) == _key(stage, _sections(ref, *names)), stage
    # repetitions differ from each other in their seed and name only
    a, b = runs[0].scenario, runs[1].scenario
    assert a.simulation.seed != b.simulation.seed and a.name != b.name
    assert a.model_copy(update={"name": b.name, "simulation": b.simulation}) == b


def test_each_point_is_validated_once(tmp_path, monkeypatch):
    calls = []

    def counted(doc, source="<scenario>"):
        calls.append(doc["simulation"]["seed"])
        return scenario_from_dict(doc, source=source)

    monkeypatch.setattr(spec_mod, "scenario_from_dict", counted)
    p = sweep_file(tmp_path, SWEEP)
    runs = expand_sweep(load_sweep(p), source=str(p))
    assert len(runs) == 48
    assert calls == [7 + 11] * 4  # one validation per point, at the largest seed


def test_largest_seed_out_of_range_is_refused(tmp_path):
    body = SWEEP.replace("seed_start: 7", f"seed_start: {2**63 - 5}")
    p = sweep_file(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        expand_sweep(load_sweep(p), source=str(p))
    text = str(info.value)
    assert "not a valid scenario" in text and "simulation.seed" in text and str(2**63 + 6) in text
    assert "liquid_supply_temp_c=40" in text and str(p) in text
    ok = sweep_file(tmp_path, SWEEP.replace("seed_start: 7", f"seed_start: {2**63 - 12}"))
    assert expand_sweep(load_sweep(ok))[-1].seed == 2**63 - 1


def test_longest_run_name_is_checked(tmp_path):
    # 120 characters is the scenario name's limit: r9 fits, r10 would not, so ten repetitions fit and eleven do not
    name = "n" * (120 - len("-p000_liquid_supply_temp_c-40-r9"))
    body = f"name: {name}\naxes:\n  - {{field: facility.cooling.liquid_supply_temp_c, values: [40]}}\n"
    ten = sweep_file(tmp_path, body + "monte_carlo: {repetitions: 10}\n")
    runs = expand_sweep(load_sweep(ten))
    assert len(runs[-1].scenario.name) == 120
    eleven = sweep_file(tmp_path, body + "monte_carlo: {repetitions: 11}\n")
    with pytest.raises(ScenarioError, match="not a valid scenario"):
        expand_sweep(load_sweep(eleven))
