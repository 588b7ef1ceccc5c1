"""Scenario loading: defaults, extends, the schema, and one clear error per kind of bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dctwin.config import load_scenario, packaged_scenarios
from dctwin.config.schema import scenario_json_schema, scenario_reference_markdown
from dctwin.errors import ScenarioError


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_default_scenario_loads_with_the_site_figures():
    s = load_scenario()
    assert s.name == "borlange-2027"
    assert s.phases[0].racks[0].platform == "vr-nvl72"
    assert s.phases[0].power_envelope_mw == 23
    assert s.facility.cooling.liquid_supply_temp_c == 45
    assert s.simulation.n_steps == 365 * 96
    assert "borlange-2027" in packaged_scenarios()


def test_whatif_is_a_five_line_file(tmp_path):
    p = write(tmp_path, """\
        extends: borlange-2027
        name: warmer-loop
        facility:
          cooling:
            liquid_supply_temp_c: 40
    """)
    s = load_scenario(p)
    assert s.name == "warmer-loop"
    assert s.facility.cooling.liquid_supply_temp_c == 40
    # untouched fields come from the base
    assert s.facility.cooling.dry_cooler_approach_k == load_scenario().facility.cooling.dry_cooler_approach_k
    assert s.phases == load_scenario().phases


def test_extends_chain_and_relative_base(tmp_path):
    write(tmp_path, "extends: borlange-2027\nname: mid\nsimulation: {seed: 7}\n", "mid.yaml")
    p = write(tmp_path, "extends: mid.yaml\nname: leaf\nsimulation: {step_s: 3600}\n", "leaf.yaml")
    s = load_scenario(p)
    assert (s.simulation.seed, s.simulation.step_s, s.name) == (7, 3600, "leaf")


def test_extends_loop_is_refused(tmp_path):
    write(tmp_path, "extends: b.yaml\nname: a\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\nname: b\n", "b.yaml")
    with pytest.raises(ScenarioError, match="loops back"):
        load_scenario(tmp_path / "a.yaml")


@pytest.mark.parametrize(
    "body, field, fragment",
    [
        ("name: x\nsite: [1, 2\n", None, "malformed YAML at line"),
        ("extends: borlange-2027\nname: x\nsimulation: {stepp_s: 60}\n", "simulation.stepp_s", "unknown field"),
        ("extends: borlange-2027\nname: x\nsimulation: {step_s: fast}\n", "simulation.step_s", "integer"),
        ("extends: borlange-2027\nname: x\nsimulation: {step_s: 0}\n", "simulation.step_s", "greater than or equal"),
        ("extends: borlange-2027\nname: x\nsimulation: {step_s: 700}\n", "simulation.step_s", "divide 86400"),
        ("extends: borlange-2027\nname: x\nphases: [{name: p, start: 2027-01-01, racks: [{platform: tpu-v9, count: 1}],"
         " power_envelope_mw: 5}]\n", "phases[0].racks[0].platform", "unknown catalog id"),
        ("extends: borlange-2027\nname: x\nsite: {grid_connection_mw: -5}\n", "site.grid_connection_mw",
         "greater than 0"),
        ("extends: borlange-2027\nname: x\nphases: [{name: p, start: 2027-01-01, racks: [{platform: vr-nvl72, "
         "count: 500}],"
         " power_envelope_mw: 23}]\n", "phases[0].power_envelope_mw", "more than its power envelope"),
        ("extends: borlange-2027\nname: x\nsite: {climate: {source: epw, path: nowhere.epw}}\n", "site.climate.path",
         "climate file not found"),
        ("extends: borlange-2027\nname: x\nfacility: {cooling: {liquid_supply_temp_c: .nan}}\n",
         "facility.cooling.liquid_supply_temp_c", "finite"),
        ("- just\n- a list\n", None, "must be a YAML mapping"),
        ("extends: borlange-2027\nname: x\nsite: !!python/object/apply:os.system ['true']\n", None, "malformed YAML"),
    ],
)
def test_bad_input_gets_one_clear_message(tmp_path, body, field, fragment):
    p = write(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    msg = str(info.value)
    assert str(p) in msg
    assert fragment in msg
    if field:
        assert f"field '{field}'" in msg


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    p = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match="alias bomb"):
        load_scenario(p)


def test_missing_file_lists_packaged_scenarios(tmp_path):
    with pytest.raises(ScenarioError, match="borlange-2027"):
        load_scenario(tmp_path / "nope.yaml")


def test_non_utf8_is_refused(tmp_path):
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(p)


def test_schema_and_reference_cover_every_section():
    schema = scenario_json_schema()
    for key in ("site", "phases", "facility", "workload", "scheduler", "economics", "simulation", "extends"):
        assert key in schema["properties"]
    json.dumps(schema)
    ref = scenario_reference_markdown()
    assert "| `step_s` |" in ref and "| `liquid_supply_temp_c` |" in ref


def test_cli_bad_scenario_exits_2_without_traceback(tmp_path, cli):
    p = write(tmp_path, "extends: borlange-2027\nname: x\nsimulation: {step_s: 7}\n")
    proc = cli("scenario", "validate", str(p))
    assert proc.returncode == 2
    assert "simulation.step_s" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_scenario_show_and_schema(tmp_path, cli):
    proc = cli("scenario", "show")
    assert proc.returncode == 0 and "name: borlange-2027" in proc.stdout
    out = tmp_path / "schema.json"
    proc = cli("scenario", "schema", "--out", str(out))
    assert proc.returncode == 0
    assert json.loads(out.read_text())["title"] == "dctwin scenario"
