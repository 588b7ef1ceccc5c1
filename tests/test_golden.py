"""Every packaged scenario gives the same Parquet bytes as recorded: a refactor must not move a single bit.

The hashes live in tests/data/golden_hashes_short.json (14-day spans; full years in golden_hashes_full.json,
checked by ``python scripts/golden_hashes.py --full``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from dctwin.config.load import packaged_scenarios

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("golden_hashes", REPO / "scripts" / "golden_hashes.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

RECORDED = json.loads(golden.SHORT_FILE.read_text())["scenarios"]
HOW = ("If a model changed on purpose, re-record with `python scripts/golden_hashes.py --record` "
       "(and `--record --full`) and name the change in the commit message; a pure refactor must not move them.")


def test_every_packaged_scenario_is_recorded():
    assert sorted(RECORDED) == packaged_scenarios(), f"packaged scenarios and recorded hashes differ. {HOW}"


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_tables_match_the_recorded_bytes(name):
    got = golden.scenario_hashes(name, golden.SHORT_DAYS)
    changed = sorted(k for k in set(got) | set(RECORDED[name]) if got.get(k) != RECORDED[name].get(k))
    assert not changed, f"{name}: {', '.join(changed)} differ from the recorded hashes. {HOW}"
