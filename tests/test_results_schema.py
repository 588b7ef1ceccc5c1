"""The one results schema: every column and KPI a real run writes has a label, a unit and a kind,
and the report, compare and glossary take theirs from it."""

from __future__ import annotations

import pytest

from dctwin.report.kpis import compare_rows, kpi_rows
from dctwin.results.schema import KINDS, field, format_value, lookup, schema, unlabelled

TABLES = ("timeseries", "monthly", "jobs", "failures", "placements", "cost_lines")


@pytest.fixture(scope="module")
def real_run():
    """A 3-day run of the default scenario, in memory (as the glossary uses)."""
    import dctwin
    from dctwin.config import load_scenario, scenario_from_dict

    data = load_scenario().model_dump(mode="json")
    data["simulation"]["duration_days"] = 3
    return dctwin.simulate(scenario_from_dict(data))


def test_every_entry_is_complete():
    for key, f in schema().items():
        assert f.label.strip() and f.unit.strip() and f.desc.strip(), key
        assert f.kind in KINDS, (key, f.kind)
        assert f.divide > 0, key


@pytest.mark.parametrize("table", TABLES)
def test_every_column_of_a_real_run_is_labelled(real_run, table):
    columns = [str(c) for c in real_run.tables[table].columns]
    assert columns
    assert unlabelled(columns, table) == [], f"add these {table} columns to src/dctwin/results/schema.yaml"


def test_every_kpi_of_a_real_run_is_labelled_grouped_and_based(real_run):
    assert len(real_run.kpis) > 50
    assert unlabelled(list(real_run.kpis), "kpis") == [], "add these KPIs to src/dctwin/results/schema.yaml"
    rows = kpi_rows(real_run.kpis)
    assert len(rows) == len([v for v in real_run.kpis.values() if not isinstance(v, (dict, list))])
    for r in rows:
        assert r["known"] and r["label"] != r["key"] or r["key"] in ("pue", "erf"), r
        assert r["unit"] and r["unit"] != "?", r
        assert r["basis"], r


def test_an_unlabelled_key_is_caught():
    assert unlabelled(["it_power_kw", "brand_new_column_kw"], "timeseries") == ["brand_new_column_kw"]
    assert unlabelled(["pue", "brand_new_kpi"], "kpis") == ["brand_new_kpi"]
    with pytest.raises(KeyError, match="brand_new_kpi"):
        field("brand_new_kpi", "kpis")
    row = next(r for r in kpi_rows({"brand_new_kpi": 3.0}))
    assert row["known"] is False and row["unit"] == "?"


def test_the_units_the_issue_named():
    assert field("energy_cost_eur_per_mwh", "kpis").display_unit == "EUR/MWh"
    assert field("eur_per_mtok__mixtral-8x22b", "kpis").display_unit == "EUR per million tokens"
    assert field("eur_per_mtok__mixtral-8x22b", "kpis").label == "Cost per million tokens, mixtral-8x22b"
    assert field("lcoc_eur_per_gpu_hour", "kpis").display_unit == "EUR/GPU-h"
    assert field("mistral-large-2__gpus_busy", "timeseries").label == "GPUs busy, mistral-large-2"
    assert field("jobs_completed", "kpis").format(589.0) == "589"
    assert field("tco_eur", "kpis").format(2629219168.17) == "2,629,219,168"
    assert field("mean_utilisation", "kpis").format(0.702) == "70.2"
    assert field("mean_utilisation", "kpis").display_unit == "%"


def test_section_overrides_and_display_units():
    assert lookup("t_s", "failures").label == "Interrupted at"
    assert lookup("t_s", "timeseries").label == "Time since start"
    f = field("allocated_gpu_s", "kpis")
    assert f.display_unit == "GPU-h" and f.format(7200.0) == "2.00"


def test_compare_rows_flag_different_spans():
    a = {"run_hours": 8760.0, "it_energy_mwh": 124641.0, "pue": 1.052, "horizon_years": 10.0}
    b = {"run_hours": 168.0, "it_energy_mwh": 1487.0, "pue": 1.057, "horizon_years": 10.0}
    rows = {r["key"]: r for r in compare_rows([a, b])}
    assert rows["it_energy_mwh"]["diffs"][1] == "spans differ"
    assert rows["pue"]["diffs"][1].startswith("+0.005")
    same = {r["key"]: r for r in compare_rows([a, {**a, "it_energy_mwh": 130000.0}])}
    assert same["it_energy_mwh"]["diffs"][1].startswith("+5,359")


def test_format_value_edge_cases():
    assert format_value(True, "flag") == "yes"
    assert format_value(float("inf"), "duration") == "unlimited"
    assert format_value("vr-nvl72", "text") == "vr-nvl72"
    assert format_value(-1196488815.48, "money") == "-1,196,488,815"
