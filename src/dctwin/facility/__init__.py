"""Facility physics: IT power, power chain, liquid and air cooling, heat reuse, water, KPIs.

Pure functions over whole time arrays (numpy, no loop per step). Each model
names its published source; parameters live in ``facility/data/*.yaml``,
each value with its source.
"""

from dctwin.facility.air import air_chiller_kw, crah_fan_kw, economiser_fraction
from dctwin.facility.heat_reuse import heat_pump_cop, recover_heat
from dctwin.facility.it_power import it_power_kw, part_activity, part_class, rack_power_curve_kw
from dctwin.facility.kpis import facility_kpis, monthly_kpis, period_kpis
from dctwin.facility.liquid import (
    adiabatic_inlet_c,
    chiller_cop,
    fan_power_kw,
    pump_power_kw,
    rejection_capacity_kw,
    wet_bulb_stull_c,
)
from dctwin.facility.params import load_params
from dctwin.facility.plant import cooling_capacity_kw, rejection_design_heat_kw, simulate_facility
from dctwin.facility.power_chain import (
    distribution_loss_kw,
    fit_loss_coefficients,
    power_shelf_loss_kw,
    stage_loss_kw,
    switchgear_loss_kw,
    transformer_loss_kw,
    units_for_redundancy,
    ups_loss_kw,
    utility_transformer_loss_kw,
)
from dctwin.facility.result import COOLING_POWER_FIELDS, POWER_LOSS_FIELDS, FacilityResult
from dctwin.facility.water import adiabatic_water_l_per_h, tower_water_l_per_h

__all__ = [
    "COOLING_POWER_FIELDS",
    "POWER_LOSS_FIELDS",
    "FacilityResult",
    "adiabatic_inlet_c",
    "adiabatic_water_l_per_h",
    "air_chiller_kw",
    "chiller_cop",
    "cooling_capacity_kw",
    "crah_fan_kw",
    "distribution_loss_kw",
    "economiser_fraction",
    "facility_kpis",
    "fan_power_kw",
    "fit_loss_coefficients",
    "heat_pump_cop",
    "it_power_kw",
    "load_params",
    "monthly_kpis",
    "part_activity",
    "part_class",
    "period_kpis",
    "power_shelf_loss_kw",
    "pump_power_kw",
    "rack_power_curve_kw",
    "recover_heat",
    "rejection_capacity_kw",
    "rejection_design_heat_kw",
    "simulate_facility",
    "stage_loss_kw",
    "switchgear_loss_kw",
    "tower_water_l_per_h",
    "transformer_loss_kw",
    "units_for_redundancy",
    "ups_loss_kw",
    "utility_transformer_loss_kw",
    "wet_bulb_stull_c",
]
