"""Scheduling policies read the engine only through its typed view (dctwin.cluster.policies.base.EngineView)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dctwin.cluster.policies as policies
from dctwin.cluster.policies.base import EngineView, Policy
from test_cluster_helpers import run_small

POLICY_DIR = Path(policies.__file__).parent
VIEW = {n for n in dir(EngineView) if not n.startswith("_")}


def engine_names_used(source: str) -> set[str]:
    """Attributes read of ``eng`` / ``self.eng`` (and ``getattr(eng, "name")``) in a policy's source."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            v = node.value
            if (isinstance(v, ast.Name) and v.id == "eng") or (
                    isinstance(v, ast.Attribute) and v.attr == "eng" and isinstance(v.value, ast.Name)):
                used.add(node.attr)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "eng"
              and isinstance(node.args[1], ast.Constant)):
            used.add(node.args[1].value)
    return used


@pytest.mark.parametrize("path", sorted(POLICY_DIR.glob("*.py")), ids=lambda p: p.name)
def test_policies_use_only_the_engine_view(path):
    extra = engine_names_used(path.read_text(encoding="utf-8")) - VIEW
    assert not extra, f"{path.name} reads engine fields outside EngineView: {sorted(extra)}"


def test_the_scan_sees_a_field_outside_the_view():
    assert engine_names_used("def f(self):\n    self.eng.hidden_field += 1\n") == {"hidden_field"}


@pytest.mark.parametrize("name", sorted(policies.POLICIES))
def test_the_engine_offers_everything_in_the_view(name, monkeypatch):
    seen = []
    init = Policy.__init__

    def spy(self, eng, depth=100):
        seen.append(eng)
        init(self, eng, depth)

    monkeypatch.setattr(Policy, "__init__", spy)
    run_small([{"submit_s": 0, "gpus": 2, "duration_s": 600}], gpus=8, policy=name)
    assert seen and not [n for n in sorted(VIEW) if not hasattr(seen[0], n)]
