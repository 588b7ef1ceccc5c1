"""The rack view of the hall: rack power from the placement log adds up to the cluster's IT power on every
step (real runs of packaged scenarios), labels and units on the figure, a note when a run has no log."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dctwin.report.data import Missing, load_run
from dctwin.report.figures import build_figures
from dctwin.report.racks import MAX_ROWS, _domains_per_rack, hall_power, rack_heatmap


def _run(root, scenario: str, days: int):
    from dctwin.config import load_scenario, scenario_from_dict
    from dctwin.orchestrator import run

    data = load_scenario(scenario).model_dump(mode="json")
    data["simulation"]["duration_days"] = days
    return run(scenario_from_dict(data), root / scenario).path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("racks")
    return {name: load_run(_run(root, name, days)) for name, days in
            (("borlange-2027", 3), ("air-cooled-hgx-tampa", 2), ("borlange-power-cap", 2))}


@pytest.mark.parametrize("name", ["borlange-2027", "air-cooled-hgx-tampa", "borlange-power-cap"])
def test_rack_power_adds_up_to_the_it_power_on_every_step(runs, name):
    run = runs[name]
    hall = hall_power(run)
    it_kw = run.tables["timeseries"]["it_power_kw"].to_numpy(dtype=np.float64)
    assert hall.kw.shape == (len(it_kw), run.kpis["racks_installed"])
    np.testing.assert_allclose(hall.kw.sum(axis=1), it_kw, rtol=1e-9, atol=1e-6)
    assert hall.kw.min() >= 0.0 and np.all(hall.kw <= hall.max_kw[None, :] * (1 + 1e-9))


def test_racks_differ_by_the_work_placed_on_them(runs):
    """Not an even split: on a busy step the racks' power spans from near idle to near full."""
    hall = hall_power(runs["borlange-2027"])
    spread = hall.kw.max(axis=1) - hall.kw.min(axis=1)
    assert spread.max() > 0.5 * hall.max_kw.max()


def test_the_figure_has_labels_and_units(runs):
    run = runs["borlange-2027"]
    fig = rack_heatmap(run)
    heat = fig.data[0]
    assert len(heat.y) == run.kpis["racks_installed"] and heat.y[0].startswith("rack 1 · ")
    assert "[kW]" in fig.layout.title.text and "heat" in fig.layout.title.text
    assert "kW per rack" in heat.colorbar.title.text and "kW" in heat.hovertemplate
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert len(heat.x) == 3 * 24  # hourly columns for a run of up to 14 days


def test_a_run_without_a_placement_log_gets_a_note(runs):
    run = runs["air-cooled-hgx-tampa"]
    tables = {k: v for k, v in run.tables.items() if k != "placements"}
    old = type(run)(path=run.path, name=run.name, manifest=run.manifest, kpis=run.kpis, tables=tables)
    figs, notes = build_figures(old)
    assert "rack_power" not in figs and "placements" in notes["rack_power"]


def test_a_large_hall_is_shown_in_groups_of_racks():
    kw = np.ones((4, 2 * MAX_ROWS + 50))
    hall = SimpleNamespace(kw=kw, platform=["a"] * (kw.shape[1] - 50) + ["b"] * 50,
                           number=np.arange(1, kw.shape[1] + 1))
    from dctwin.report.racks import _rows

    rows, names = _rows(hall)
    assert rows.shape[1] <= MAX_ROWS + 2 and names[0] == "racks 1-3 · a" and names[-1].endswith(" · b")
    assert not any(" · a" in n and " · b" in n for n in names)


def test_domains_that_do_not_tile_racks_are_refused():
    with pytest.raises(Missing, match="do not tile"):
        _domains_per_rack(SimpleNamespace(gpus_per_unit=8, scale_up_domain_gpus=16, id="wide"))


def test_chunks_and_periods_change_nothing_but_memory(runs, monkeypatch):
    """A hall computed a few steps at a time, and hourly means, equal the whole per-step computation."""
    import dctwin.report.racks as racks

    run = runs["borlange-2027"]
    whole = hall_power(run).kw
    monkeypatch.setattr(racks, "CHUNK_CELLS", 37 * 100)   # 37 steps of 100 racks at a time: chunk edges mid-hour
    np.testing.assert_allclose(hall_power(run).kw, whole, rtol=1e-9, atol=1e-9)
    hourly = hall_power(run, period_steps=4).kw           # 15-min steps
    np.testing.assert_allclose(hourly, whole.reshape(-1, 4, whole.shape[1]).mean(axis=1), rtol=1e-9, atol=1e-9)


def test_a_dropped_placement_log_is_named_not_drawn(runs):
    """An empty log on a run whose GPUs were busy (the log passed its bound) is refused, not drawn as idle racks."""
    run = runs["air-cooled-hgx-tampa"]
    tables = dict(run.tables, placements=run.tables["placements"].iloc[:0])
    dropped = type(run)(path=run.path, name=run.name, manifest=run.manifest, kpis=run.kpis, tables=tables)
    with pytest.raises(Missing, match="kept no placement log"):
        hall_power(dropped)
