"""Moist-air relations used by the site series: dew point, relative humidity, the site's air pressure.

Pure vectorised functions of arrays. Formulas:

* Saturation vapour pressure over water, Magnus form with the coefficients of
  Alduchov & Eskridge (1996), "Improved Magnus form approximation of saturation
  vapor pressure", J. Appl. Meteor. 35, 601-609:
  ``e_s(T) = 6.1094 exp(17.625 T / (T + 243.04))`` [hPa], T [°C] (the synthetic
  climate's dew point <-> RH).
* The site's air pressure (``site_air_pressure``): one constant per site, the
  mean of the EPW file's hourly station pressure where it has one, else the
  standard atmosphere at ``site.elevation_m`` (psychrolib, ASHRAE Handbook
  Fundamentals 2017 ch. 1 eq. 3). A constant, not the hourly value: weather
  swings the pressure by about +-3 % around its mean, elevation by 40 % over the
  -500 to 6,000 m a site may sit at, and one pressure keeps the wet-bulb table
  one 2-D grid read per run. Wet bulb, humidity ratio and air density at that
  pressure come from ``dctwin.facility.moist_air`` (psychrolib; the one wet bulb).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from dctwin.errors import InputError

__all__ = ["ELEVATION_MISMATCH_M", "dew_point_c", "rel_humidity_pct", "saturation_vapour_pressure_hpa",
           "site_air_pressure", "site_pressure"]

# an EPW whose header elevation is further than this from site.elevation_m gets a warning: 100 m moves the
# standard atmosphere's pressure by ~1.2 %, a third of the weather's own +-3 % swing
ELEVATION_MISMATCH_M = 100.0

_A = 17.625
_B_C = 243.04
_E0_HPA = 6.1094


def saturation_vapour_pressure_hpa(temp_c):
    """Saturation vapour pressure over water [hPa] at ``temp_c`` [°C] (Magnus, Alduchov & Eskridge 1996)."""
    t = np.asarray(temp_c, dtype=float)
    return _E0_HPA * np.exp(_A * t / (t + _B_C))


def dew_point_c(dry_bulb_c, rel_humidity_pct):
    """Dew point [°C] from dry bulb [°C] and relative humidity [%] (inverse Magnus)."""
    t = np.asarray(dry_bulb_c, dtype=float)
    rh = np.clip(np.asarray(rel_humidity_pct, dtype=float), 0.1, 100.0)
    g = np.log(rh / 100.0) + _A * t / (t + _B_C)
    return _B_C * g / (_A - g)


def rel_humidity_pct(dry_bulb_c, dew_point_c):
    """Relative humidity [%] from dry bulb [°C] and dew point [°C]; capped at 100 %."""
    rh = 100.0 * saturation_vapour_pressure_hpa(dew_point_c) / saturation_vapour_pressure_hpa(dry_bulb_c)
    return np.minimum(rh, 100.0)


def site_air_pressure(elevation_m: float, station_pressure_pa=None, file: str | None = None) -> tuple[float, str]:
    """(the site's air pressure [Pa], where it comes from): the mean of ``station_pressure_pa`` [Pa] (an EPW's
    hourly field 9; NaN = missing) where it has any value, else the standard atmosphere at ``elevation_m`` [m]."""
    from dctwin.facility import moist_air

    hourly = np.asarray([] if station_pressure_pa is None else station_pressure_pa, dtype=float)
    hourly = hourly[np.isfinite(hourly)]
    if hourly.size:
        pa = float(hourly.mean())
        origin = f"{pa:,.0f} Pa, the mean of the weather file's {hourly.size:,} hourly station pressures"
    else:
        pa = moist_air.standard_pressure_pa(elevation_m)
        origin = (f"{pa:,.0f} Pa, the standard atmosphere at site.elevation_m {elevation_m:g} m "
                  "(ASHRAE Fundamentals 2017 ch. 1 eq. 3)")
    lo, hi = moist_air.LEVELS_PA[0], moist_air.LEVELS_PA[-1]
    if not lo <= pa <= hi:
        raise InputError("mean station pressure outside the moist-air tables", file=file,
                         field="atmospheric_pressure_pa (EPW field 10)", value=round(pa),
                         allowed=f"{lo:,.0f} to {hi:,.0f} Pa")
    return pa, origin + "; one constant for the run (the hourly swing is ~+-3 %)"


def site_pressure(site) -> tuple[float, str]:
    """``site_air_pressure`` of a ``SiteConfig`` (its EPW's station pressure read when the climate is one)."""
    c = site.climate
    if c.source != "epw" or c.path is None:
        return site_air_pressure(site.elevation_m)
    st = Path(c.path).stat()
    return site_air_pressure(site.elevation_m, _station_pa(str(c.path), st.st_mtime_ns, st.st_size), str(c.path))


@lru_cache(maxsize=8)
def _station_pa(path: str, mtime_ns: int, size: int) -> np.ndarray:
    """An EPW's hourly station pressure [Pa], parsed once per file version (capex and provenance both ask; ~60 ms)."""
    from dctwin.site.readers import read_epw

    return read_epw(path)["atmospheric_pressure_pa"].to_numpy()
