"""Compute revenue by year: GPU-hour prices that fall as a GPU generation ages, contracts, a sales ramp.

The commercial model, stated once:

* Each IT generation is installed at ``t0_years`` and replaced every
  ``it_life_years``; its spot GPU-hour price starts at the launch price and
  falls by ``decline_per_year`` per year of age (age at mid-year). A refresh
  installs a new generation, whose price starts again at the launch price.
* ``contracted_share`` of the available GPU-hours is sold on contracts at
  ``contract_price_frac`` x launch price, flat, billed whether used or not,
  for ``contract_years`` from the generation's installation; afterwards
  those GPU-hours join the spot pool.
* Spot GPU-hours sold = spot pool x the run's GPU utilisation (busy / online)
  x a ramp that starts at ``ramp_start_frac`` in year 1 and reaches 1 after
  ``ramp_years``. The physics (energy, heat) follows the simulated load;
  the ramp is a sales assumption, not a change of load.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["generation_age_years", "revenue_by_year", "revenue_columns"]


def generation_age_years(horizon_years: int, it_life_years: float, t0_years: float = 0.0) -> np.ndarray:
    """Age of the installed GPU generation at the middle of years 1..N [years] (NaN before installation)."""
    t_mid = np.arange(horizon_years, dtype=float) + 0.5 - float(t0_years)
    age = np.mod(t_mid, float(it_life_years))
    return np.where(t_mid >= 0, age, np.nan)


def revenue_by_year(horizon_years: int, gpu_hours_available_per_year: float, utilisation_frac: float, *,
                    launch_price_eur_per_gpu_hour: float, decline_per_year: float, contracted_share: float,
                    contract_price_frac: float, contract_years: float, ramp_start_frac: float, ramp_years: float,
                    it_life_years: float, t0_years: float = 0.0) -> pd.DataFrame:
    """One row per year 1..N: prices [EUR/GPU-h], GPU-hours sold [GPU-h] and compute revenue [EUR].

    gpu_hours_available_per_year: online GPU-hours of a year [GPU-h]; utilisation_frac: busy / online
    GPU-hours of the run [-]; the other arguments are the ``economics.finance`` fields of the same name.
    """
    return pd.DataFrame(revenue_columns(
        horizon_years, gpu_hours_available_per_year, utilisation_frac,
        launch_price_eur_per_gpu_hour=launch_price_eur_per_gpu_hour, decline_per_year=decline_per_year,
        contracted_share=contracted_share, contract_price_frac=contract_price_frac, contract_years=contract_years,
        ramp_start_frac=ramp_start_frac, ramp_years=ramp_years, it_life_years=it_life_years, t0_years=t0_years))


def revenue_columns(horizon_years: int, gpu_hours_available_per_year: float, utilisation_frac: float, *,
                    launch_price_eur_per_gpu_hour: float, decline_per_year: float, contracted_share: float,
                    contract_price_frac: float, contract_years: float, ramp_start_frac: float, ramp_years: float,
                    it_life_years: float, t0_years: float = 0.0) -> dict[str, np.ndarray]:
    """``revenue_by_year``'s columns as arrays (what the finance passes read, without a DataFrame)."""
    n = int(horizon_years)
    age = generation_age_years(n, it_life_years, t0_years)
    installed = np.isfinite(age)
    age0 = np.nan_to_num(age)
    spot = np.where(installed, launch_price_eur_per_gpu_hour * (1.0 - decline_per_year) ** age0, 0.0)
    contract_price = contract_price_frac * launch_price_eur_per_gpu_hour
    in_contract = installed & (age0 < contract_years)
    year = np.arange(1, n + 1, dtype=float)
    ramp = np.ones(n) if ramp_years <= 0 else np.minimum(1.0, ramp_start_frac + (1.0 - ramp_start_frac)
                                                           * (year - 1.0) / ramp_years)
    avail = np.where(installed, gpu_hours_available_per_year, 0.0)
    contracted_h = np.where(in_contract, contracted_share * avail, 0.0)
    spot_sold_h = (avail - contracted_h) * min(max(utilisation_frac, 0.0), 1.0) * ramp
    revenue = contracted_h * contract_price + spot_sold_h * spot
    return {
        "year": np.arange(1, n + 1),
        "generation_age_years": age,
        "spot_price_eur_per_gpu_hour": spot,
        "contract_price_eur_per_gpu_hour": np.where(in_contract, contract_price, np.nan),
        "gpu_hours_available": avail,
        "gpu_hours_contracted": contracted_h,
        "gpu_hours_spot_sold": spot_sold_h,
        "sales_ramp_frac": ramp,
        "compute_revenue_eur": revenue,
    }
