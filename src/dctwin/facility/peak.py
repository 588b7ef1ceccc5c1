"""Peak grid power against the grid connection and the phase power envelope.

Two peaks are compared with both limits:

- the design-day peak: every installed rack at full power, heat pumps at
  full heat output, over every hour of the site's weather year (so the
  hottest hour for cooling and the coldest for the heat pumps' lift both
  count), as a designer sizes a connection;
- the run's own peak grid power.

Over a limit is never silent: ``peak_messages`` words it for ``scenario
validate``, ``run`` and the report, and the KPIs carry the margins [MW].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dctwin.config.facility import FacilityConfig

__all__ = ["PeakCheck", "design_peak_kw", "peak_kpis", "peak_messages", "peak_messages_from_kpis"]


@dataclass(frozen=True)
class PeakCheck:
    """Design-day peak and the run's own peak against the site's limits [MW]."""

    design_peak_mw: float
    design_peak_dry_bulb_c: float
    run_peak_mw: float | None
    grid_connection_mw: float
    power_envelope_mw: float


def design_peak_kw(design: FacilityConfig, installed_it_kw: float, liquid_fraction: float, dry_bulb_c,
                   rel_humidity_pct, dh_supply_temp_c=None, *,
                   air_pressure_pa: float = 101_325.0) -> tuple[float, float]:
    """(peak grid power [kW], dry-bulb of that hour [°C]): full IT and heat pumps at capacity in every weather step."""
    from dctwin.facility.plant import simulate_facility

    db = np.asarray(dry_bulb_c, dtype=float)
    n = len(db)
    hp_mw = design.heat_reuse.heat_pump_capacity_mw if design.heat_reuse.enabled else 0.0
    r = simulate_facility(design, np.full(n, float(installed_it_kw)), liquid_fraction, db, None, rel_humidity_pct,
                          np.full(n, hp_mw), dh_supply_temp_c, installed_it_kw, 3600,
                          installed_liquid_fraction=liquid_fraction, air_pressure_pa=air_pressure_pa)
    i = int(np.argmax(r.grid_power_kw))
    return float(r.grid_power_kw[i]), float(db[i])


def peak_kpis(check: PeakCheck) -> dict[str, float]:
    """Flat KPIs: both peaks and their margin to each limit (positive: over the limit) [MW]."""
    out = {
        "design_peak_grid_mw": check.design_peak_mw,
        "design_peak_dry_bulb_c": check.design_peak_dry_bulb_c,
        "grid_connection_mw": check.grid_connection_mw,
        "power_envelope_mw": check.power_envelope_mw,
        "design_peak_over_connection_mw": check.design_peak_mw - check.grid_connection_mw,
        "design_peak_over_envelope_mw": check.design_peak_mw - check.power_envelope_mw,
    }
    if check.run_peak_mw is not None:
        out["run_peak_over_connection_mw"] = check.run_peak_mw - check.grid_connection_mw
        out["run_peak_over_envelope_mw"] = check.run_peak_mw - check.power_envelope_mw
    return out


def peak_messages(check: PeakCheck) -> list[str]:
    """One sentence per peak over a limit (empty when everything fits)."""
    msgs = []
    peaks = [("design-day peak (all racks at full power, heat pumps at full output, "
              f"worst hour at {check.design_peak_dry_bulb_c:.1f} °C)", check.design_peak_mw)]
    if check.run_peak_mw is not None:
        peaks.append(("the run's own peak", check.run_peak_mw))
    for what, mw in peaks:
        for limit, cap in (("grid connection", check.grid_connection_mw), ("phase power envelope",
                                                                           check.power_envelope_mw)):
            if mw > cap:
                msgs.append(f"{what} {mw:.1f} MW exceeds the {limit} of {cap:.1f} MW by {mw - cap:.1f} MW")
    return msgs


def peak_messages_from_kpis(kpis: dict) -> list[str]:
    """``peak_messages`` of a run, rebuilt from its KPIs (empty when the run has no peak check)."""
    keys = ("design_peak_grid_mw", "design_peak_dry_bulb_c", "grid_connection_mw", "power_envelope_mw")
    if any(kpis.get(k) is None for k in keys):
        return []
    run_peak = kpis.get("peak_grid_power_mw")
    return peak_messages(PeakCheck(float(kpis["design_peak_grid_mw"]), float(kpis["design_peak_dry_bulb_c"]),
                                   None if run_peak is None else float(run_peak), float(kpis["grid_connection_mw"]),
                                   float(kpis["power_envelope_mw"])))
