"""KPI definitions per ISO/IEC 30134 on a hand-checked run, and the parameter files' sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dctwin.config.facility import FacilityConfig
from dctwin.errors import InputError
from dctwin.facility import facility_kpis, monthly_kpis, period_kpis, simulate_facility
from dctwin.facility.params import load_params, read_param_file


def _run(n=24 * 59, step_s=3600):
    ts = pd.date_range("2027-01-01", periods=n, freq="h")
    db = 10 + 15 * np.sin(np.arange(n) * 2 * np.pi / n)
    design = FacilityConfig.model_validate({"cooling": {"heat_rejection": "adiabatic_dry_cooler",
                                                        "design_ambient_c": 0}})
    r = simulate_facility(design, np.full(n, 8000.0), 0.9, db, None, np.full(n, 30.0), 1.0, None, 10_000.0, step_s)
    return r, ts


def test_kpis_follow_iso_30134_definitions():
    r, ts = _run()
    carbon = np.linspace(20, 60, len(r))
    k = facility_kpis(r, 3600, 0.75, carbon, ts)
    it = r.it_power_kw.sum()
    grid = r.grid_power_kw.sum()
    assert k["pue"] == pytest.approx((grid - r.heat_pump_kw.sum()) / it)
    assert k["grid_energy_per_it_energy"] == pytest.approx(grid / it)
    dc = grid - r.heat_pump_kw.sum()  # one boundary for PUE, ERF, REF and CUE: heat pumps outside
    assert k["ppue_cooling"] == pytest.approx(1 + r.cooling_power_kw.sum() / it)
    assert k["ppue_power"] == pytest.approx(1 + r.power_losses_kw.sum() / it)
    assert k["wue_l_per_kwh"] == pytest.approx(r.water_l_per_h.sum() / it) and k["wue_l_per_kwh"] > 0
    assert k["erf"] == pytest.approx(r.heat_recovered_kw.sum() / dc) and 0 < k["erf"] < 1
    assert k["ref"] == pytest.approx(0.75)
    assert k["dc_energy_mwh"] == pytest.approx(dc / 1000)
    assert k["cue_kg_per_kwh"] == pytest.approx(((r.grid_power_kw - r.heat_pump_kw) * carbon).sum() / 1000 / it)
    assert k["co2_t"] == pytest.approx((r.grid_power_kw * carbon).sum() / 1e6)
    assert k["adiabatic_hours"] > 0
    assert k["grid_energy_mwh"] == pytest.approx(grid / 1000)


def test_monthly_and_hourly_rows_add_up():
    r, ts = _run()
    k = facility_kpis(r, 3600, 0.5, 30.0, ts)
    m = monthly_kpis(r, 3600, 0.5, 30.0, ts)
    assert list(m.index.month) == [1, 2]
    for col in ("it_energy_mwh", "grid_energy_mwh", "heat_delivered_mwh", "water_m3", "chiller_hours"):
        assert m[col].sum() == pytest.approx(k[col], rel=1e-9)
    h = period_kpis(r, 3600, 0.5, 30.0, ts, freq="h")
    np.testing.assert_allclose(h["pue"], (r.grid_power_kw - r.heat_pump_kw) / r.it_power_kw)


def test_kpi_inputs_checked():
    r, _ts = _run()
    with pytest.raises(InputError):
        facility_kpis(r, 3600, 1.5, 30.0)
    with pytest.raises(InputError):
        facility_kpis(r, 3600, 0.5, np.ones(3))
    with pytest.raises(InputError):
        monthly_kpis(r, 3600, 0.5, 30.0, None)


def test_every_parameter_file_loads_with_sources():
    for name in ("it_power", "power_chain", "cooling", "heat_reuse", "water"):
        assert load_params(name)


def test_parameter_without_known_source_is_rejected(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: {a: 'a book'}\nvalues:\n  x: {value: 1.0, source: b}\n", encoding="utf-8")
    with pytest.raises(InputError, match="source key"):
        read_param_file(bad)
    bare = tmp_path / "bare.yaml"
    bare.write_text("sources: {a: 'a book'}\nvalues:\n  x: 1.0\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_param_file(bare)
