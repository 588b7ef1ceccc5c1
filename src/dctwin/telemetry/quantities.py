"""The measured quantities dctwin can take in, their canonical units and the units accepted for them.

A telemetry series is mapped onto one of these quantities. Its unit must be one
of the quantity's accepted units (converted exactly to the canonical unit);
values outside the physical range are refused, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from dctwin.errors import InputError

__all__ = ["CANONICAL_UNIT", "QUANTITIES", "Quantity", "to_canonical"]

CANONICAL_UNIT = {"power": "kW", "temperature": "°C", "share": "%", "flow": "L/h"}


@dataclass(frozen=True)
class Quantity:
    name: str  # canonical column name, unit in the name
    label: str
    kind: str  # power | temperature | share | flow
    low: float  # physical range in the canonical unit (inclusive)
    high: float
    role: str  # input: drives the model; output: compared with the model


# (scale, offset): canonical = value * scale + offset
_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "power": {"W": (1e-3, 0.0), "kW": (1.0, 0.0), "MW": (1e3, 0.0)},
    # counters of energy become average power over each step [kW]; the scale here is to kWh
    "energy": {"J": (1.0 / 3.6e6, 0.0), "mJ": (1.0 / 3.6e9, 0.0), "Wh": (1e-3, 0.0), "kWh": (1.0, 0.0),
               "MWh": (1e3, 0.0)},
    "temperature": {"degC": (1.0, 0.0), "C": (1.0, 0.0), "K": (1.0, -273.15), "degF": (5.0 / 9.0, -160.0 / 9.0),
                    "F": (5.0 / 9.0, -160.0 / 9.0)},
    "share": {"%": (1.0, 0.0), "fraction": (100.0, 0.0)},
    "flow": {"L/h": (1.0, 0.0), "L/s": (3600.0, 0.0), "L/min": (60.0, 0.0), "m3/h": (1000.0, 0.0)},
}

_POWER_HIGH_KW = 5e6  # 5 GW: above any site; a larger value is a unit error
QUANTITIES: dict[str, Quantity] = {q.name: q for q in (
    Quantity("it_power_kw", "IT power", "power", 0.0, _POWER_HIGH_KW, "input"),
    Quantity("dry_bulb_c", "outdoor dry-bulb temperature", "temperature", -70.0, 70.0, "input"),
    Quantity("rel_humidity_pct", "outdoor relative humidity", "share", 0.0, 100.0, "input"),
    Quantity("heat_demand_kw", "district-heating demand offered to the site", "power", 0.0, _POWER_HIGH_KW, "input"),
    # read for the IT-side check of GPU power against utilisation (dctwin.telemetry.itside); the facility
    # replay does not use it
    Quantity("gpu_utilisation_pct", "GPU utilisation (share of time a kernel ran)", "share", 0.0, 100.0, "input"),
    Quantity("grid_power_kw", "site power from the grid", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("cooling_power_kw", "cooling plant power (pumps, fans, chillers)", "power", 0.0, _POWER_HIGH_KW,
             "output"),
    Quantity("cdu_pump_kw", "CDU pump power", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("facility_pump_kw", "facility-water pump power", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("dry_cooler_fan_kw", "dry-cooler fan power", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("chiller_kw", "chiller power", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("ups_loss_kw", "UPS loss", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("heat_pump_kw", "heat-pump power", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("heat_delivered_kw", "heat delivered to district heating", "power", 0.0, _POWER_HIGH_KW, "output"),
    Quantity("water_l_per_h", "water use", "flow", 0.0, 1e8, "output"),
)}


def unit_kind(quantity: Quantity, counter: bool) -> str:
    """The unit family a series of ``quantity`` is written in (energy for power counters)."""
    return "energy" if counter and quantity.kind == "power" else quantity.kind


def accepted_units(quantity: Quantity, counter: bool) -> list[str]:
    return sorted(_UNITS[unit_kind(quantity, counter)])


def to_canonical(values, quantity: Quantity, unit: str, counter: bool, *, where: str):
    """``values`` in ``unit`` converted to the quantity's canonical unit (kWh for power counters)."""
    table = _UNITS[unit_kind(quantity, counter)]
    if unit not in table:
        raise InputError("unknown unit for this quantity", field=where, value=unit,
                         allowed=", ".join(accepted_units(quantity, counter)))
    scale, offset = table[unit]
    return values * scale + offset
