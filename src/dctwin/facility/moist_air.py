"""Moist air at sea-level pressure from psychrolib (ASHRAE Handbook Fundamentals 2017, ch. 1).

psychrolib works on scalars; a year at 1-minute steps has half a million
of them. So its functions are evaluated once on a grid (dry-bulb every
0.5 K from -50 to 60 °C, RH every 2 %; shipped as data/moist_air_tables.npz,
made by scripts/gen_moist_air_tables.py, so a run only loads them) and read
by linear interpolation:
the values come from psychrolib alone (one implementation), interpolation
adds < 0.07 K / 1e-5 kg/kg, and it keeps monotonicity (more humid air never
reads drier). Enthalpy is linear in the humidity ratio at a given
temperature, so it is exact from two psychrolib calls per temperature.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["PRESSURE_PA", "dew_point_c", "enthalpy_kj_per_kg", "hum_ratio", "hum_ratio_from_dew_point",
           "outdoor_state", "wet_bulb_c"]

PRESSURE_PA = 101_325.0
_T = np.arange(-50.0, 60.0 + 1e-9, 0.5)
_RH = np.arange(0.0, 100.0 + 1e-9, 2.0)


SHIPPED_TABLES = Path(__file__).resolve().parent / "data" / "moist_air_tables.npz"


def compute_tables() -> dict[str, np.ndarray]:
    """Every table from psychrolib on the grid (about a second: ``scripts/gen_moist_air_tables.py`` writes
    them to ``SHIPPED_TABLES`` so that a run only loads them). psychrolib is imported here, not by a run:
    with numba installed it imports numba and wraps every function with it (~0.6 s of start-up), hence
    ``scalar_psychrolib``."""
    psychrolib = scalar_psychrolib()
    psychrolib.SetUnitSystem(psychrolib.SI)
    w = np.array([[psychrolib.GetHumRatioFromRelHum(t, rh / 100.0, PRESSURE_PA) for rh in _RH] for t in _T])
    # two points on the line (psychrolib lifts W = 0 to a floor of 1e-7, so not W = 0 itself)
    h_a = np.array([psychrolib.GetMoistAirEnthalpy(t, 0.01) for t in _T]) / 1000.0
    h_b = np.array([psychrolib.GetMoistAirEnthalpy(t, 1.0) for t in _T]) / 1000.0
    slope = (h_b - h_a) / 0.99
    wet_bulb = np.array([[psychrolib.GetTWetBulbFromRelHum(t, max(rh, 0.01) / 100.0, PRESSURE_PA) for rh in _RH]
                         for t in _T])
    # dew point as a function of humidity ratio: the saturation curve (RH 100 %) read backwards
    return {"t_c": _T, "rh_pct": _RH, "w": w, "h0": h_a - 0.01 * slope, "dh_dw": slope, "w_sat": w[:, -1],
            "wet_bulb": wet_bulb}


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
def _all_tables() -> dict[str, np.ndarray]:
    """The shipped tables when they were made on this grid, else computed now."""
    try:
        with np.load(SHIPPED_TABLES) as shipped:
            tables = {k: shipped[k] for k in shipped.files}
    except OSError:
        return compute_tables()
    same_grid = np.array_equal(tables.get("t_c"), _T) and np.array_equal(tables.get("rh_pct"), _RH)
    return tables if same_grid else compute_tables()


def _tables() -> dict[str, np.ndarray]:
    return _all_tables()


def _wet_bulb_table() -> np.ndarray:
    return _all_tables()["wet_bulb"]


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


def _grid(table: np.ndarray, t_c, rh_pct, weights=None) -> np.ndarray:
    k, a, b = _weights(t_c, rh_pct) if weights is None else weights
    flat = table.ravel()
    lo = flat.take(k) + b * (flat.take(k + 1) - flat.take(k))
    hi = flat.take(k + len(_RH)) + b * (flat.take(k + len(_RH) + 1) - flat.take(k + len(_RH)))
    return lo + a * (hi - lo)


def outdoor_state(dry_bulb_c, rel_humidity_pct, need_wet_bulb: bool = True):
    """(humidity ratio [kg/kg], wet-bulb [°C] or None) of outdoor air, sharing one grid lookup."""
    w8 = _weights(dry_bulb_c, rel_humidity_pct)
    w = _grid(_tables()["w"], None, None, w8)
    return w, (_grid(_wet_bulb_table(), None, None, w8) if need_wet_bulb else None)


def hum_ratio(dry_bulb_c, rel_humidity_pct) -> np.ndarray:
    """Humidity ratio [kg water / kg dry air] from dry-bulb [°C] and relative humidity [%]."""
    return _grid(_tables()["w"], dry_bulb_c, rel_humidity_pct)


def wet_bulb_c(dry_bulb_c, rel_humidity_pct) -> np.ndarray:
    """Thermodynamic wet-bulb temperature [°C] from dry-bulb [°C] and relative humidity [%]."""
    return _grid(_wet_bulb_table(), dry_bulb_c, rel_humidity_pct)


def enthalpy_kj_per_kg(dry_bulb_c, hum_ratio_kg_kg) -> np.ndarray:
    """Moist-air enthalpy [kJ per kg dry air] at dry-bulb [°C] and humidity ratio [kg/kg]."""
    tab = _tables()
    t = np.asarray(dry_bulb_c, dtype=float)
    return np.interp(t, _T, tab["h0"]) + np.interp(t, _T, tab["dh_dw"]) * np.asarray(hum_ratio_kg_kg, dtype=float)


def dew_point_c(hum_ratio_kg_kg) -> np.ndarray:
    """Dew point [°C] of air with humidity ratio [kg/kg] (the saturation curve read backwards)."""
    return np.interp(np.asarray(hum_ratio_kg_kg, dtype=float), _tables()["w_sat"], _T)


def hum_ratio_from_dew_point(dew_point_c_) -> np.ndarray:
    """Humidity ratio [kg/kg] of air whose dew point is ``dew_point_c_`` [°C]."""
    return np.interp(np.asarray(dew_point_c_, dtype=float), _T, _tables()["w_sat"])
