"""Sweep files expand into validated runs; a bad axis is refused before anything runs."""

from __future__ import annotations

import textwrap

import pytest

from dctwin.errors import ScenarioError
from dctwin.sweep import expand_sweep, load_sweep


def sweep_file(tmp_path, body: str):
    p = tmp_path / "sweep.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_grid_times_repetitions(tmp_path):
    p = sweep_file(tmp_path, """\
        name: cooling
        base: borlange-2027
        overrides: {simulation: {duration_days: 7}}
        axes:
          - field: facility.cooling.liquid_supply_temp_c
            values: [40, 45, 50]
          - field: phases[0].racks[0].count
            values: [80, 100]
            label: racks
        monte_carlo: {repetitions: 4, seed_start: 10}
    """)
    runs = expand_sweep(load_sweep(p), source=str(p))
    assert len(runs) == 3 * 2 * 4
    assert len({r.run_id for r in runs}) == len(runs)
    assert len({r.point_id for r in runs}) == 6
    assert {r.seed for r in runs} == {10, 11, 12, 13}
    r = next(r for r in runs if r.axis_values == {"liquid_supply_temp_c": 50, "racks": 80} and r.repetition == 2)
    assert r.scenario.facility.cooling.liquid_supply_temp_c == 50
    assert r.scenario.phases[0].racks[0].count == 80
    assert r.scenario.simulation.seed == 12 and r.scenario.simulation.duration_days == 7
    # ids are stable: the same file expands to the same ids
    assert [x.run_id for x in expand_sweep(load_sweep(p), str(p))] == [x.run_id for x in runs]


@pytest.mark.parametrize("axis, fragment", [
    ("{field: facility.cooling.liquid_supply_temp_cc, values: [40]}", "unknown scenario field"),
    ("{field: 'phases[3].racks[0].count', values: [1]}", "unknown scenario field"),
    ("{field: 'facility..cooling', values: [1]}", "not a field path"),
    ("{field: facility.cooling.liquid_supply_temp_c, values: [hot]}", "not a valid scenario"),
    ("{field: 'phases[0].racks[0].count', values: [100000]}", "power envelope"),
    ("{field: facility.cooling.liquid_supply_temp_c, values: []}", "at least 1"),
])
def test_bad_axis_is_refused_before_any_run(tmp_path, axis, fragment):
    p = sweep_file(tmp_path, f"name: bad\naxes:\n  - {axis}\n")
    with pytest.raises(ScenarioError) as info:
        expand_sweep(load_sweep(p), source=str(p))
    assert fragment in str(info.value)
    assert str(p) in str(info.value)


def test_unknown_sweep_key(tmp_path):
    p = sweep_file(tmp_path, "name: x\naxis: []\n")
    with pytest.raises(ScenarioError, match="axis"):
        load_sweep(p)
