"""The peak check of a whole scenario: installed racks, the site's weather year, its grid connection and envelope."""

from __future__ import annotations

from dctwin.facility.peak import PeakCheck, design_peak_kw

__all__ = ["run_peak_kpis", "scenario_peak_check"]


def _installed(scenario) -> tuple[float, float]:
    """(installed IT [kW] of the largest phase, its liquid-cooled share [0-1])."""
    from dctwin.catalog import get_platform

    best = (0.0, 0.0)
    total_kw = liquid_kw = 0.0
    for phase in scenario.phases:  # racks of later phases add to the earlier ones
        for g in phase.racks:
            p = get_platform(g.platform)
            total_kw += g.count * p.unit_max_kw
            liquid_kw += g.count * p.unit_max_kw * p.liquid_cooled_fraction
        if total_kw > best[0]:
            best = (total_kw, liquid_kw / total_kw if total_kw else 0.0)
    return best


def scenario_peak_check(scenario, run_peak_mw: float | None = None, site_frame=None, hours: int = 8760) -> PeakCheck:
    """Design-day peak of ``scenario`` over its site's hourly weather year, with the run's peak if given [MW].

    ``site_frame`` (the run's site series) is used when given, read hourly; otherwise ``hours`` hours of site
    series from the start are built (a year unless the caller says otherwise).
    """
    from dctwin.site import site_series
    from dctwin.timeline import Timeline

    if site_frame is None:
        tl = Timeline(start=scenario.simulation.start, step_s=3600, n_steps=hours)
        site_frame = site_series(scenario.site, tl, scenario.simulation.seed)
    else:
        step = max(1, round(3600 / scenario.simulation.step_s))
        site_frame = site_frame.iloc[::step]
    installed_kw, lf = _installed(scenario)
    peak_kw, db = design_peak_kw(scenario.facility, installed_kw, lf, site_frame["dry_bulb_c"].to_numpy(),
                                 site_frame["rel_humidity_pct"].to_numpy(), site_frame["dh_supply_temp_c"].to_numpy(),
                                 air_pressure_pa=float(site_frame["air_pressure_pa"].iloc[0]))
    return PeakCheck(design_peak_mw=peak_kw / 1000.0, design_peak_dry_bulb_c=db, run_peak_mw=run_peak_mw,
                     grid_connection_mw=scenario.site.grid_connection_mw,
                     power_envelope_mw=max(p.power_envelope_mw for p in scenario.phases))


def run_peak_kpis(scenario, run_peak_mw: float, site_frame) -> dict[str, object]:
    """KPIs of the peak check of a run (``peak_messages_from_kpis`` words them)."""
    from dctwin.facility.peak import peak_kpis

    return peak_kpis(scenario_peak_check(scenario, run_peak_mw, site_frame))
