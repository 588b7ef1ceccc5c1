"""The facility time series of one run: equal-length numpy arrays with units in their names."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

__all__ = ["AIR_TREATMENT_FIELDS", "COOLING_POWER_FIELDS", "POWER_LOSS_FIELDS", "FacilityResult"]

# Stages whose losses are added to the IT power on the way to the grid meter.
POWER_LOSS_FIELDS = ("utility_transformer_loss_kw", "transformer_loss_kw", "switchgear_loss_kw", "ups_loss_kw",
                     "distribution_loss_kw")
# Electricity of the cooling plant (the heat pump is not cooling: it serves district heating).
COOLING_POWER_FIELDS = ("cdu_pump_kw", "facility_pump_kw", "dry_cooler_fan_kw", "adiabatic_kw", "chiller_kw",
                        "crah_fan_kw")
# Electricity of the air side that is not cooling: steam humidifiers (dry outdoor air).
AIR_TREATMENT_FIELDS = ("humidifier_kw",)


@dataclass(frozen=True)
class FacilityResult:
    """Per-step facility power and heat flows [kW], water [L/h] and flags.

    Balance on every step: ``grid_power_kw = it_power_kw + sum(POWER_LOSS_FIELDS)
    + sum(COOLING_POWER_FIELDS) + humidifier_kw + ancillary_kw + heat_pump_kw`` and ``grid_power_kw =
    heat_rejected_kw + heat_delivered_kw``. ``power_shelf_loss_kw`` is the part
    of ``it_power_kw`` lost in the rack power shelves (IT energy per ISO/IEC
    30134-2, so it is not added again). ``chiller_kw`` is
    ``liquid_chiller_kw + air_chiller_kw``.
    """

    it_demand_kw: np.ndarray          # IT power asked for by the workload [kW]
    it_power_kw: np.ndarray           # IT power actually drawn after any throttling [kW]
    throttled_it_kw: np.ndarray       # IT power removed by power capping for lack of cooling [kW]
    power_shelf_loss_kw: np.ndarray   # inside it_power_kw [kW]
    utility_transformer_loss_kw: np.ndarray  # HV/MV grid transformer [kW]
    transformer_loss_kw: np.ndarray   # MV/LV transformers [kW]
    switchgear_loss_kw: np.ndarray
    ups_loss_kw: np.ndarray
    distribution_loss_kw: np.ndarray
    cdu_pump_kw: np.ndarray
    facility_pump_kw: np.ndarray
    dry_cooler_fan_kw: np.ndarray     # dry-cooler or cooling-tower fans [kW]
    adiabatic_kw: np.ndarray          # adiabatic spray pumps [kW]
    liquid_chiller_kw: np.ndarray
    air_chiller_kw: np.ndarray
    chiller_kw: np.ndarray
    crah_fan_kw: np.ndarray           # air-side fans (CRAH / CRAC / fan walls) [kW]
    humidifier_kw: np.ndarray         # steam humidifiers holding the room above the envelope's low humidity [kW]
    ancillary_kw: np.ndarray          # lighting, security, BMS, offices [kW]
    heat_pump_kw: np.ndarray
    grid_power_kw: np.ndarray
    liquid_heat_kw: np.ndarray        # heat into the facility-water loop [kW]
    air_heat_kw: np.ndarray           # heat into room air, fans included [kW]
    heat_recovered_kw: np.ndarray     # heat taken from the facility water for district heating [kW]
    heat_delivered_kw: np.ndarray     # heat sent to district heating (heat-pump electricity included) [kW]
    heat_rejected_kw: np.ndarray      # heat released to the ambient [kW]
    heat_pump_cop: np.ndarray         # heating COP the heat pumps would have this step (unused if heat goes direct) [-]
    cooling_capacity_kw: np.ndarray   # liquid-loop heat the plant can reject (rejecters, reuse, allowed chillers) [kW]
    heat_over_capacity_kw: np.ndarray  # liquid heat beyond free cooling and reuse, before the overload rule [kW]
    cooling_shortfall_kw: np.ndarray  # liquid heat beyond everything the rule allows; removed by throttling [kW]
    air_cooling_shortfall_kw: np.ndarray  # air-side heat beyond economiser and mechanical cooling capacity [kW]
    water_l_per_h: np.ndarray         # site water use rate [L/h]
    economiser_fraction: np.ndarray   # share of the air heat carried by the economiser [0-1]
    chiller_on: np.ndarray            # any chiller running [bool]
    adiabatic_on: np.ndarray          # pads wetted [bool]

    def __len__(self) -> int:
        return len(self.grid_power_kw)

    @property
    def power_losses_kw(self) -> np.ndarray:
        """Sum of the power-chain losses outside the racks [kW]."""
        return sum(getattr(self, f) for f in POWER_LOSS_FIELDS)

    @property
    def cooling_power_kw(self) -> np.ndarray:
        """Electricity of the cooling plant [kW]."""
        return sum(getattr(self, f) for f in COOLING_POWER_FIELDS)

    def to_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_frame(self, timestamps=None) -> pd.DataFrame:
        """The series as a DataFrame, indexed by ``timestamps`` if given."""
        return pd.DataFrame(self.to_dict(), index=timestamps)
