"""Cooling models against their sources: affinity laws, dry-cooler duty, adiabatic pads.

Chillers, moist air and the air side: test_facility_air.py."""

from __future__ import annotations

import pytest

from dctwin.facility import (
    adiabatic_inlet_c,
    fan_power_kw,
    load_params,
    pump_power_kw,
    rejection_capacity_kw,
)

P = load_params("cooling")["values"]


def test_pump_power_from_flow_and_head_and_affinity_law():
    # design: 10 MW at 10 K -> m = 10000/(3.93*10) kg/s -> V = m / 1010 m3/s; P = V * 250 kPa / 0.7
    v = 10_000 / (P["coolant_cp_kj_per_kg_k"] * 10) / P["coolant_density_kg_per_m3"]
    design_kw = v * 250 / P["pump_efficiency"]
    assert pump_power_kw(10_000, 10_000, 10, 250) == pytest.approx(design_kw, rel=1e-9)
    # half the heat at the same rise: half the flow, an eighth of the power
    assert pump_power_kw(5_000, 10_000, 10, 250) == pytest.approx(design_kw / 8, rel=1e-9)
    # below the minimum flow the pump stays at minimum speed
    assert pump_power_kw(0.0, 10_000, 10, 250) == pytest.approx(design_kw * P["pump_min_flow_frac"] ** 3)


def test_pump_heat_allowance_matches_the_pump_laws():
    """The coarse allowance in cooling.yaml equals the CDU + facility pump heat at full flow of the default design."""
    from dctwin.config.facility import FacilityConfig
    from dctwin.facility import rejection_design_heat_kw

    exact = rejection_design_heat_kw(FacilityConfig(), 1000.0) / 1000.0 - 1.0
    assert P["design_pump_heat_frac"] == pytest.approx(exact, abs=1e-4)
    assert 0.01 < exact < 0.03  # 1-3 % of IT: CDU and primary pumps of a DLC plant


def test_dry_cooler_duty_is_linear_in_entering_temperature_difference():
    # sized for 1 MW at 35 °C air with 55 °C return: ETD 20 K
    assert rejection_capacity_kw(1000, 35.0, 55.0, 35.0) == pytest.approx(1000)
    assert rejection_capacity_kw(1000, 45.0, 55.0, 35.0) == pytest.approx(500)
    assert rejection_capacity_kw(1000, 15.0, 55.0, 35.0) == pytest.approx(2000)
    assert rejection_capacity_kw(1000, 60.0, 55.0, 35.0) == 0.0


def test_fan_cube_law():
    assert fan_power_kw(500, 1000, 20) == pytest.approx(20 / 8)
    assert fan_power_kw(2000, 1000, 20) == pytest.approx(20)  # never above full speed
    assert fan_power_kw(0, 0, 20) == 0


def test_adiabatic_pad_outlet():
    eff = P["adiabatic_saturation_eff"]
    assert adiabatic_inlet_c(40.0, 20.0) == pytest.approx(40 - eff * 20)
    assert adiabatic_inlet_c(10.0, 12.0) == pytest.approx(10.0)  # no depression: no cooling
