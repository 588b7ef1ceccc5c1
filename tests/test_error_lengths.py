"""A user's value of any length gives a readable error: file, field, value and validator messages are cut, so no
line of a refusal runs to thousands of characters (the fuzz tests found a 5,184-character line)."""

from __future__ import annotations

import pytest

from dctwin.config.load import load_scenario, scenario_from_dict
from dctwin.errors import InputError


def test_a_long_file_field_and_value_are_cut():
    err = InputError("bad", file="f" * 5_000, field="g" * 5_000, value="v" * 5_000, allowed="x")
    assert len(str(err)) < 700 and str(err).endswith("; allowed: x")


def test_a_validator_quoting_a_long_value_is_cut():
    data = load_scenario().model_dump(mode="json")
    data["site"]["heat_demand"]["profile"] = "x" * 5_000
    with pytest.raises(InputError) as info:
        scenario_from_dict(data, source="s.yaml")
    assert "heat" in str(info.value)
    assert max(len(line) for line in str(info.value).splitlines()) < 1_000


def test_a_long_sweep_base_is_cut(tmp_path):
    from dctwin.sweep.spec import expand_sweep, load_sweep

    path = tmp_path / "s.yaml"
    path.write_text("base: " + "b" * 5_000 + "\naxes: []\n")
    with pytest.raises(InputError) as info:
        expand_sweep(load_sweep(path), source=str(path))
    assert max(len(line) for line in str(info.value).splitlines()) < 1_000
