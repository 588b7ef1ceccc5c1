"""Moist air at a given pressure from psychrolib (ASHRAE Handbook Fundamentals 2017, ch. 1).

psychrolib works on scalars; a year at 1-minute steps has half a million of
them. So its functions are evaluated once on a grid (shipped as
data/moist_air_tables.npz, made by scripts/gen_moist_air_tables.py, so a run
only loads them) and read by interpolation; every value comes from psychrolib
alone (one implementation):

* saturation vapour pressure on dry bulb every 0.5 K from -50 to 60 °C, read
  log-linearly. Humidity ratio, dew point and the humidity ratio at a dew point
  then follow at any pressure exactly as psychrolib forms them (W = 0.621945
  pw / (P - pw), pw = RH x psat; ASHRAE eq. 20 and 22), so pressure needs no axis.
* wet bulb (psychrolib solves the psychrometric equation by bisection, no
  closed form in P) on dry bulb x RH (every 2 %) x pressure (every 5 kPa from
  45 to 110 kPa: the standard atmosphere of site.elevation_m's -500 to 6,000 m
  is 107.5 to 47.2 kPa; stored as float32, 0.57 MB). A run reads it at one
  pressure (the site's), linearly between the two nearest pressure levels,
  then bilinearly: within 0.05 K of psychrolib wherever psychrolib's wet bulb
  is more than 1 K from 0 °C (measured 0.01 K at 0-1,600 m, 0.04 K at 6,000 m;
  tests/test_facility_moist_air_tables.py checks 0, 800, 1,600 and 5,000 m
  against fresh psychrolib calls). Within 1 K of 0 °C psychrolib's own wet
  bulb jumps by ~0.7 K (ice below, water above) and the grid reads across
  the jump (up to 0.5 K off there, as the sea-level table always did).
* dew points below the grid's -50 °C read as -50 °C.
* enthalpy is linear in the humidity ratio at a given temperature and free of
  pressure, so it is exact from two psychrolib calls per temperature.
* density is proportional to pressure at a given temperature and humidity ratio
  (psychrolib's GetMoistAirDensity: P (1 + W) / (287.042 T (1 + 1.607858 W))).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["PRESSURE_PA", "density_kg_per_m3", "dew_point_c", "enthalpy_kj_per_kg", "hum_ratio",
           "hum_ratio_from_dew_point", "outdoor_state", "standard_pressure_pa", "wet_bulb_c"]

PRESSURE_PA = 101_325.0  # sea level, standard atmosphere
_T = np.arange(-50.0, 60.0 + 1e-9, 0.5)
_RH = np.arange(0.0, 100.0 + 1e-9, 2.0)
LEVELS_PA = np.arange(45_000.0, 110_000.0 + 1e-9, 5_000.0)
_MW_RATIO = 0.621945  # molar mass of water over dry air (ASHRAE Fundamentals 2017 ch. 1 eq. 20; psychrolib's)
_MIN_W = 1e-7  # psychrolib's floor on the humidity ratio

SHIPPED_TABLES = Path(__file__).resolve().parent / "data" / "moist_air_tables.npz"


def wet_bulb_level(psychrolib, pressure_pa: float) -> np.ndarray:
    """psychrolib's wet bulb [°C] on the (dry bulb, RH) grid at ``pressure_pa`` [Pa]."""
    return np.array([[psychrolib.GetTWetBulbFromRelHum(t, max(rh, 0.01) / 100.0, pressure_pa) for rh in _RH]
                     for t in _T])


def compute_tables(levels_pa=LEVELS_PA) -> dict[str, np.ndarray]:
    """Every table from psychrolib on the grid (~10 s: ``scripts/gen_moist_air_tables.py`` writes them to
    ``SHIPPED_TABLES`` so that a run only loads them). psychrolib is imported here, not by a run: with numba
    installed it imports numba and wraps every function with it (~0.6 s of start-up), hence
    ``scalar_psychrolib``."""
    psychrolib = scalar_psychrolib()
    psychrolib.SetUnitSystem(psychrolib.SI)
    psat = np.array([psychrolib.GetSatVapPres(t) for t in _T])
    # two points on the line (psychrolib lifts W = 0 to a floor of 1e-7, so not W = 0 itself)
    h_a = np.array([psychrolib.GetMoistAirEnthalpy(t, 0.01) for t in _T]) / 1000.0
    h_b = np.array([psychrolib.GetMoistAirEnthalpy(t, 1.0) for t in _T]) / 1000.0
    slope = (h_b - h_a) / 0.99
    # float32: within 4e-6 K of psychrolib's float64 and half the shipped file (0.57 MB instead of 1.17 MB)
    wet_bulb = np.stack([wet_bulb_level(psychrolib, float(p)) for p in levels_pa]).astype(np.float32)
    return {"t_c": _T, "rh_pct": _RH, "pressure_pa": np.asarray(levels_pa, dtype=float), "psat_pa": psat,
            "h0": h_a - 0.01 * slope, "dh_dw": slope, "wet_bulb": wet_bulb}


def scalar_psychrolib():
    """psychrolib with its plain scalar functions. When numba is importable (the compiled engine path's
    dependency), psychrolib's import replaces every function by a numba ufunc, whose results differ in the
    last bits (fused multiply-adds), so the shipped tables would no longer match a fresh computation.
    numba is hidden from that one import, so psychrolib's values do not depend on what else is installed."""
    import sys

    if "psychrolib" not in sys.modules:
        saved = sys.modules.get("numba", False)
        sys.modules["numba"] = None                # import numba -> ImportError, psychrolib's own fallback
        try:
            import psychrolib  # noqa: F401
        finally:
            if saved is False:
                del sys.modules["numba"]
            else:
                sys.modules["numba"] = saved
    return sys.modules["psychrolib"]


@cache
def _tables() -> dict[str, np.ndarray]:
    """The shipped tables when they were made on this grid, else computed now."""
    try:
        with np.load(SHIPPED_TABLES) as shipped:
            tables = {k: shipped[k] for k in shipped.files}
    except OSError:
        return compute_tables()
    same_grid = (np.array_equal(tables.get("t_c"), _T) and np.array_equal(tables.get("rh_pct"), _RH)
                 and np.array_equal(tables.get("pressure_pa"), LEVELS_PA))
    return tables if same_grid else compute_tables()


@cache
def _log_psat() -> np.ndarray:
    """ln of psychrolib's saturation pressure [ln Pa] on the dry-bulb grid, read by every humidity lookup."""
    return np.log(_tables()["psat_pa"])


def _check_pressure(pressure_pa: float) -> float:
    p = float(pressure_pa)
    if not LEVELS_PA[0] <= p <= LEVELS_PA[-1]:
        raise ValueError(f"air pressure {p:,.0f} Pa outside the moist-air tables' "
                         f"{LEVELS_PA[0]:,.0f}-{LEVELS_PA[-1]:,.0f} Pa")
    return p


@cache
def _wet_bulb_table(pressure_pa: float) -> np.ndarray:
    """The wet-bulb grid at ``pressure_pa`` [Pa]: linear between the two nearest pressure levels."""
    p = _check_pressure(pressure_pa)
    k = min(int(np.searchsorted(LEVELS_PA, p, side="right")) - 1, len(LEVELS_PA) - 2)
    a = (p - LEVELS_PA[k]) / (LEVELS_PA[k + 1] - LEVELS_PA[k])
    wb = _tables()["wet_bulb"][k:k + 2].astype(np.float64)
    return wb[0] + a * (wb[1] - wb[0])


def _weights(t_c, rh_pct):
    """(flat index of the lower grid corner, weight along T, weight along RH) of each point."""
    t = np.clip(np.asarray(t_c, dtype=float), _T[0], _T[-1])
    rh = np.clip(np.asarray(rh_pct, dtype=float), 0.0, 100.0)
    t, rh = np.broadcast_arrays(t, rh)
    fi = (t - _T[0]) * (1.0 / (_T[1] - _T[0]))
    i = np.minimum(fi.astype(np.int64), len(_T) - 2)
    fj = rh * (1.0 / (_RH[1] - _RH[0]))
    j = np.minimum(fj.astype(np.int64), len(_RH) - 2)
    return i * len(_RH) + j, fi - i, fj - j


def _grid(table: np.ndarray, weights) -> np.ndarray:
    k, a, b = weights
    flat = table.ravel()
    lo = flat.take(k) + b * (flat.take(k + 1) - flat.take(k))
    hi = flat.take(k + len(_RH)) + b * (flat.take(k + len(_RH) + 1) - flat.take(k + len(_RH)))
    return lo + a * (hi - lo)


def _psat_pa(t_c) -> np.ndarray:
    """Saturation vapour pressure [Pa] at ``t_c`` [°C]: psychrolib's, log-linear between grid points."""
    t = np.clip(np.asarray(t_c, dtype=float), _T[0], _T[-1])
    return np.exp(np.interp(t, _T, _log_psat()))


def _w_from_vapour_pa(pw, pressure_pa: float) -> np.ndarray:
    return np.maximum(_MW_RATIO * pw / (pressure_pa - pw), _MIN_W)


def outdoor_state(dry_bulb_c, rel_humidity_pct, *, pressure_pa: float, need_wet_bulb: bool = True):
    """(humidity ratio [kg/kg], wet-bulb [°C] or None) of outdoor air at ``pressure_pa`` [Pa]."""
    w = hum_ratio(dry_bulb_c, rel_humidity_pct, pressure_pa=pressure_pa)
    return w, (wet_bulb_c(dry_bulb_c, rel_humidity_pct, pressure_pa=pressure_pa) if need_wet_bulb else None)


def hum_ratio(dry_bulb_c, rel_humidity_pct, *, pressure_pa: float) -> np.ndarray:
    """Humidity ratio [kg water / kg dry air] from dry-bulb [°C], relative humidity [%] and pressure [Pa]."""
    rh = np.clip(np.asarray(rel_humidity_pct, dtype=float), 0.0, 100.0) / 100.0
    return _w_from_vapour_pa(rh * _psat_pa(dry_bulb_c), _check_pressure(pressure_pa))


def wet_bulb_c(dry_bulb_c, rel_humidity_pct, *, pressure_pa: float) -> np.ndarray:
    """Thermodynamic wet-bulb temperature [°C] from dry-bulb [°C], relative humidity [%] and pressure [Pa]."""
    return _grid(_wet_bulb_table(float(pressure_pa)), _weights(dry_bulb_c, rel_humidity_pct))


def enthalpy_kj_per_kg(dry_bulb_c, hum_ratio_kg_kg) -> np.ndarray:
    """Moist-air enthalpy [kJ per kg dry air] at dry-bulb [°C] and humidity ratio [kg/kg] (free of pressure)."""
    tab = _tables()
    t = np.asarray(dry_bulb_c, dtype=float)
    return np.interp(t, _T, tab["h0"]) + np.interp(t, _T, tab["dh_dw"]) * np.asarray(hum_ratio_kg_kg, dtype=float)


def dew_point_c(hum_ratio_kg_kg, *, pressure_pa: float) -> np.ndarray:
    """Dew point [°C] of air with humidity ratio [kg/kg] at pressure [Pa] (saturation pressure read backwards)."""
    w = np.asarray(hum_ratio_kg_kg, dtype=float)
    pw = _check_pressure(pressure_pa) * w / (_MW_RATIO + w)
    return np.interp(np.log(np.maximum(pw, 1e-12)), _log_psat(), _T)


def hum_ratio_from_dew_point(dew_point_c_, *, pressure_pa: float) -> np.ndarray:
    """Humidity ratio [kg/kg] of air at pressure [Pa] whose dew point is ``dew_point_c_`` [°C]."""
    return _w_from_vapour_pa(_psat_pa(dew_point_c_), _check_pressure(pressure_pa))


def density_kg_per_m3(dry_bulb_c, hum_ratio_kg_kg, *, pressure_pa: float) -> float:
    """Moist-air density [kg/m³] at dry-bulb [°C], humidity ratio [kg/kg] and pressure [Pa] (psychrolib)."""
    psychrolib = scalar_psychrolib()
    psychrolib.SetUnitSystem(psychrolib.SI)
    return float(psychrolib.GetMoistAirDensity(float(dry_bulb_c), float(hum_ratio_kg_kg), float(pressure_pa)))


def standard_pressure_pa(elevation_m: float) -> float:
    """Standard-atmosphere pressure [Pa] at ``elevation_m`` [m] (psychrolib; ASHRAE Fundamentals 2017 ch. 1 eq. 3)."""
    psychrolib = scalar_psychrolib()
    psychrolib.SetUnitSystem(psychrolib.SI)
    return float(psychrolib.GetStandardAtmPressure(float(elevation_m)))
