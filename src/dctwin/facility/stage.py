"""The facility stages of a run: the cooling limit the scheduler sees, the site's IT power, the plant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.buildout import Pool
from dctwin.config.facility import FacilityConfig
from dctwin.facility.capacity import cooling_capacity_kw
from dctwin.facility.it_power import it_power_kw
from dctwin.facility.params import FacilityParams
from dctwin.facility.plant import simulate_facility
from dctwin.facility.result import FacilityResult

__all__ = ["SiteItPower", "cooling_limit_kw", "facility_stage", "it_power_stage"]


@dataclass(frozen=True)
class SiteItPower:
    """IT power of every pool together per step: ``it_kw`` [kW], its liquid-cooled part ``liquid_kw`` [kW],
    the installed IT power ``installed_kw`` [kW] and the installed liquid share ``liquid_installed`` [-]."""

    it_kw: np.ndarray
    liquid_kw: np.ndarray
    installed_kw: float
    liquid_installed: float

    @property
    def liquid_fraction(self):
        """Liquid share of the IT heat per step (the installed share when no IT power is drawn) [-]."""
        if not self.it_kw.any():
            return self.liquid_installed
        return np.divide(self.liquid_kw, self.it_kw, out=np.zeros(len(self.it_kw)), where=self.it_kw > 0)


def installed_it(pools: list[Pool]) -> tuple[float, float]:
    """(installed IT power at full load [kW], its liquid-cooled share [-])."""
    installed_kw = sum(p.max_it_kw for p in pools)
    return installed_kw, sum(p.max_it_kw * p.platform.liquid_cooled_fraction for p in pools) / installed_kw


def cooling_limit_kw(design: FacilityConfig, site: pd.DataFrame, pools: list[Pool], *,
                     params: FacilityParams) -> np.ndarray:
    """IT power whose heat the plant can reject at each step's weather [kW] (inf: no liquid limit), with the run's
    facility ``params``."""
    installed_kw, liquid_installed = installed_it(pools)
    return cooling_capacity_kw(design, site["dry_bulb_c"].to_numpy(), site["wet_bulb_c"].to_numpy(), installed_kw,
                               liquid_fraction=liquid_installed, params=params)


def it_power_stage(pools: list[Pool], busy_gpus: list[np.ndarray], power_cap_frac: np.ndarray, *,
                   params: FacilityParams) -> SiteItPower:
    """IT power of the pools with ``busy_gpus`` [GPU] per pool and step under the GPU power cap [-], with the run's
    facility ``params`` (its IT power model)."""
    n = len(power_cap_frac)
    it_kw, liquid_kw = np.zeros(n), np.zeros(n)
    for pool, busy in zip(pools, busy_gpus, strict=True):
        online = pool.gpus_online.astype(np.float64)
        util = np.clip(np.divide(busy, online, out=np.zeros(n), where=online > 0), 0.0, 1.0)  # sums may overshoot
        pool_kw = it_power_kw(pool.platform, pool.units_online, util, power_cap_frac, params=params)
        it_kw += pool_kw
        liquid_kw += pool_kw * pool.platform.liquid_cooled_fraction
    return SiteItPower(it_kw, liquid_kw, *installed_it(pools))


def facility_stage(design: FacilityConfig, it: SiteItPower, site: pd.DataFrame, step_s: int,
                   heat_to_power_price_ratio=None, *, params: FacilityParams) -> FacilityResult:
    """The plant's power, heat and water per step for the site's IT power and weather.

    ``heat_to_power_price_ratio`` [-] per step: heat price over the all-in electricity price, for the heat
    pumps' economic dispatch (``heat_reuse.dispatch``); ``params``: the run's facility parameters, read once
    (``facility.params.design_params``).
    """
    return simulate_facility(design, it.it_kw, it.liquid_fraction, site["dry_bulb_c"].to_numpy(),
                             site["wet_bulb_c"].to_numpy(), site["rel_humidity_pct"].to_numpy(),
                             site["heat_demand_mw"].to_numpy(), site["dh_supply_temp_c"].to_numpy(), it.installed_kw,
                             step_s, installed_liquid_fraction=it.liquid_installed,
                             heat_to_power_price_ratio=heat_to_power_price_ratio, params=params,
                             air_pressure_pa=_site_pressure_pa(site))


def _site_pressure_pa(site: pd.DataFrame) -> float:
    """The site's one air pressure [Pa] (its ``air_pressure_pa`` series is a constant; sea level for no steps)."""
    col = site["air_pressure_pa"].to_numpy()
    return float(col[0]) if len(col) else 101_325.0
