"""Facility physics: IT power, power chain, liquid and air cooling, heat reuse, water, KPIs.

Pure functions over whole time arrays (numpy, no loop per step). Each model
names its published source; parameters live in ``facility/data/*.yaml``,
each value with its source.
"""

from dctwin.facility.air import air_side, economiser_fraction, fan_kw, humidity_limits
from dctwin.facility.chillers import chiller_capacity_factor, chiller_cop, chiller_power_kw, dx_capacity_factor, dx_cop
from dctwin.facility.heat_reuse import heat_pump_cop, recover_heat
from dctwin.facility.it_power import it_power_kw, part_activity, part_class, rack_power_curve_kw
from dctwin.facility.kpis import facility_kpis, monthly_kpis, period_kpis
from dctwin.facility.liquid import (
    adiabatic_inlet_c,
    fan_power_kw,
    pump_power_kw,
    rejection_capacity_kw,
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
from dctwin.facility.result import AIR_TREATMENT_FIELDS, COOLING_POWER_FIELDS, POWER_LOSS_FIELDS, FacilityResult
from dctwin.facility.sizing import PlantSize, size_plant
from dctwin.facility.water import adiabatic_water_l_per_h, tower_water_l_per_h

__all__ = [
    "AIR_TREATMENT_FIELDS",
    "COOLING_POWER_FIELDS",
    "POWER_LOSS_FIELDS",
    "FacilityResult",
    "PlantSize",
    "adiabatic_inlet_c",
    "adiabatic_water_l_per_h",
    "air_side",
    "chiller_capacity_factor",
    "chiller_cop",
    "chiller_power_kw",
    "cooling_capacity_kw",
    "distribution_loss_kw",
    "dx_capacity_factor",
    "dx_cop",
    "economiser_fraction",
    "facility_kpis",
    "fan_kw",
    "fan_power_kw",
    "fit_loss_coefficients",
    "heat_pump_cop",
    "humidity_limits",
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
    "size_plant",
    "stage_loss_kw",
    "switchgear_loss_kw",
    "tower_water_l_per_h",
    "transformer_loss_kw",
    "units_for_redundancy",
    "ups_loss_kw",
    "utility_transformer_loss_kw",
]
