"""The performance model's constants are read once per run and handed down: no stage of a run falls back to the
packaged values (that the stage cache keys by them is tested in tests/test_stage_cache.py)."""

from __future__ import annotations

import sys

import pytest

from dctwin.orchestrator import simulate
from dctwin.perf.params import packaged_perf_params
from test_stage_cache import golden


@pytest.mark.parametrize("name", ["borlange-2027", "borlange-power-cap", "borlange-demand-response"])
def test_no_stage_of_a_run_falls_back_to_the_packaged_constants(name, monkeypatch):
    """With the constants handed in, every module that could read the packaged performance or facility (IT
    power included) constants is made to refuse."""
    scenario = golden.scenario_for(name, 2.0)
    simulate(scenario)  # imports every module a run uses

    def refuse():
        raise AssertionError("a stage read packaged model constants instead of the run's")
    mine = packaged_perf_params().replaced("inference", compute_efficiency=0.5)
    count = 0
    for mod_name, module in list(sys.modules.items()):
        for attr in ("packaged_perf_params", "packaged_params"):
            if mod_name.startswith("dctwin.") and hasattr(module, attr):
                monkeypatch.setattr(module, attr, refuse)
                count += 1
    assert count >= 12
    assert simulate(scenario, perf=mine).kpis


def test_replaced_refuses_a_name_the_section_lacks():
    from dctwin.errors import InputError

    with pytest.raises(InputError, match="names no performance-model constant"):
        packaged_perf_params().replaced("inference", compute_eficiency=0.5)
    p = packaged_perf_params()
    assert p.digest("training") != p.replaced("training", hbm_usable_fraction=0.8).digest("training")
    assert p.digest("inference") == p.replaced("training", hbm_usable_fraction=0.8).digest("inference")
