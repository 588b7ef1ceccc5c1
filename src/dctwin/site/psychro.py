"""Moist-air relations used by the site series: dew point, relative humidity, wet bulb.

Pure vectorised functions of arrays. Formulas:

* Saturation vapour pressure over water, Magnus form with the coefficients of
  Alduchov & Eskridge (1996), "Improved Magnus form approximation of saturation
  vapor pressure", J. Appl. Meteor. 35, 601-609:
  ``e_s(T) = 6.1094 exp(17.625 T / (T + 243.04))`` [hPa], T [°C].
* Wet-bulb temperature from dry bulb and RH at sea-level pressure: Stull (2011),
  "Wet-Bulb Temperature from Relative Humidity and Air Temperature",
  J. Appl. Meteor. Climatol. 50, 2267-2269, doi:10.1175/JAMC-D-11-0143.1.
  Stated accuracy -1 K to +0.65 K for RH 5-99 % and T -20..50 °C; outside that
  range the result is clipped to the physical bounds dew point <= Tw <= T.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dew_point_c", "rel_humidity_pct", "saturation_vapour_pressure_hpa", "wet_bulb_stull_c"]

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


def wet_bulb_stull_c(dry_bulb_c, rel_humidity_pct):
    """Wet-bulb temperature [°C] from dry bulb [°C] and RH [%] (Stull 2011), bounded by dew point and dry bulb."""
    t = np.asarray(dry_bulb_c, dtype=float)
    rh = np.clip(np.asarray(rel_humidity_pct, dtype=float), 0.0, 100.0)
    tw = (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
    return np.clip(tw, dew_point_c(t, rh), t)
