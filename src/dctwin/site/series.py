"""One entry point: every site series of a run, on the run's time steps."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.config.site import SiteConfig
from dctwin.errors import InputError
from dctwin.site.calendar import HourlyCalendar, to_steps, typical_year_index
from dctwin.site.climate import synthesize_weather
from dctwin.site.grid import synthesize_grid
from dctwin.site.heat import dh_supply_temp_c, heat_demand
from dctwin.site.profiles import load_profile
from dctwin.site.psychro import site_air_pressure
from dctwin.site.readers import read_epw, read_heat_demand_csv, read_weather_csv
from dctwin.timeline import Timeline

__all__ = ["SITE_COLUMNS", "map_to_hours", "site_series"]

SITE_COLUMNS = (
    "dry_bulb_c",
    "rel_humidity_pct",
    "wet_bulb_c",
    "air_pressure_pa",
    "price_eur_per_mwh",
    "carbon_g_per_kwh",
    "heat_demand_mw",
    "dh_supply_temp_c",
)
_TYPICAL_HOURS = 8760
_NO_NETWORK_SUPPLY_C = 70.0  # placeholder where no network exists (demand 0, so no heat pump runs against it)


def _typical_table(
    month: np.ndarray, day: np.ndarray, hour0: np.ndarray, values: dict[str, np.ndarray], file: str, what: str
) -> dict[str, np.ndarray]:
    """Average rows onto the 8,760 hours of a non-leap year by month/day/hour (29 Feb dropped)."""
    keep = ~((month == 2) & (day == 29))
    cum = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])
    key = (cum[month[keep] - 1] + day[keep] - 1) * 24 + hour0[keep]
    counts = np.bincount(key, minlength=_TYPICAL_HOURS)[:_TYPICAL_HOURS]
    if (counts == 0).any():
        gap = int(np.flatnonzero(counts == 0)[0])
        raise InputError(
            f"{what} does not cover the run and is not a whole typical year "
            f"(no row for day {gap // 24 + 1} of the year, hour {gap % 24})",
            file=file,
            allowed="rows covering the whole run, or every hour of one year",
        )
    return {
        k: np.bincount(key, weights=v[keep], minlength=_TYPICAL_HOURS)[:_TYPICAL_HOURS] / counts
        for k, v in values.items()
    }


def map_to_hours(
    df: pd.DataFrame,
    columns: tuple[str, ...],
    start: dt.date,
    n_hours: int,
    *,
    file: str,
    what: str,
    hold: bool = False,
) -> dict[str, np.ndarray]:
    """Hourly values for ``n_hours`` from ``start`` out of a timestamped table.

    If the table's timestamps cover the run, values are taken in time (linear
    between rows, or the last row at or before each hour when ``hold``);
    otherwise the table must hold a whole year, used as a typical year by
    month/day/hour (29 Feb repeats 28 Feb).
    """
    ts = df["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64).astype(float)
    s0 = float(np.datetime64(start, "s").astype(np.int64))
    t = s0 + np.arange(n_hours, dtype=float) * 3600.0
    if ts[0] <= t[0] and ts[-1] >= t[-1]:
        out = {}
        for c in columns:
            v = df[c].to_numpy(dtype=float)
            if hold:
                out[c] = v[np.searchsorted(ts, t, side="right") - 1]
            else:
                out[c] = np.interp(t + 1800.0, ts, v)
        return out
    stamps = pd.DatetimeIndex(df["timestamp"])
    table = _typical_table(
        stamps.month.to_numpy(),
        stamps.day.to_numpy(),
        stamps.hour.to_numpy(),
        {c: df[c].to_numpy(dtype=float) for c in columns},
        file,
        what,
    )
    idx = typical_year_index(HourlyCalendar.build(start, n_hours))
    return {c: v[idx] for c, v in table.items()}


def _path(p: Path | None) -> Path:
    assert p is not None  # guaranteed by the config validators
    return Path(p)


def _weather(site: SiteConfig, start: dt.date, n_hours: int, seed: int) -> dict[str, np.ndarray]:
    c = site.climate
    if c.source == "synthetic":
        w = synthesize_weather(load_profile("climate", c.normals), start, n_hours, seed)
        out = {k: w[k].to_numpy() for k in ("dry_bulb_c", "rel_humidity_pct")}
        station_pa = None
    elif c.source == "epw":
        e = read_epw(_path(c.path))
        table = _typical_table(
            e["month"].to_numpy(),
            e["day"].to_numpy(),
            e["hour"].to_numpy() - 1,
            {
                "dry_bulb_c": e["dry_bulb_c"].to_numpy(),
                "rel_humidity_pct": np.clip(e["rel_humidity_pct"].to_numpy(), 0.0, 100.0),
            },
            str(c.path),
            "EPW file",
        )
        idx = typical_year_index(HourlyCalendar.build(start, n_hours))
        out = {k: v[idx] for k, v in table.items()}
        station_pa = e["atmospheric_pressure_pa"].to_numpy()
    else:
        out = map_to_hours(
            read_weather_csv(_path(c.path), site.timezone),
            ("dry_bulb_c", "rel_humidity_pct"),
            start,
            n_hours,
            file=str(c.path),
            what="weather CSV",
        )
        station_pa = None
    return _with_wet_bulb(out, site, station_pa)


def _with_wet_bulb(out: dict[str, np.ndarray], site: SiteConfig, station_pa) -> dict[str, np.ndarray]:
    """Add the site's air pressure [Pa] (one constant, ``site_air_pressure``) and the wet bulb [°C] at it
    (psychrolib, ``dctwin.facility.moist_air``: the one wet bulb the facility model uses too)."""
    from dctwin.facility import moist_air

    file = str(site.climate.path) if site.climate.path is not None else None
    pa, _ = site_air_pressure(site.elevation_m, station_pa, file)
    out["air_pressure_pa"] = np.full(len(out["dry_bulb_c"]), pa)
    out["wet_bulb_c"] = moist_air.wet_bulb_c(out["dry_bulb_c"], out["rel_humidity_pct"], pressure_pa=pa)
    return out


def _grid(site: SiteConfig, start: dt.date, n_hours: int, seed: int) -> dict[str, np.ndarray]:
    """Price and carbon: the zone's synthetic series, replaced by whatever the user's files hold."""
    from dctwin.site.market_readers import read_carbon_file, read_price_file

    g = site.grid
    out: dict[str, np.ndarray] = {}
    if g.source == "synthetic" or (g.format != "plain" and g.carbon_path is None):
        s = synthesize_grid(load_profile("grid", g.profile_id), start, n_hours, seed)
        out = {k: s[k].to_numpy() for k in ("price_eur_per_mwh", "carbon_g_per_kwh")}
    if g.source == "csv":
        cols = ("price_eur_per_mwh", "carbon_g_per_kwh") if g.format == "plain" else ("price_eur_per_mwh",)
        df = read_price_file(_path(g.path), g.format, g.zone, site.timezone)
        out.update(map_to_hours(df, cols, start, n_hours, file=str(g.path), what="price file", hold=True))
    if g.carbon_path is not None:
        df = read_carbon_file(g.carbon_path, g.carbon_format, site.timezone)
        out.update(map_to_hours(df, ("carbon_g_per_kwh",), start, n_hours, file=str(g.carbon_path),
                                what="carbon file", hold=True))
    return out


def _heat(site: SiteConfig, dry_bulb_c: np.ndarray, start: dt.date, n_hours: int) -> dict[str, np.ndarray]:
    h = site.heat_demand
    if h.source == "none":  # no network: nothing to sell; the supply temperature is then never used
        return {"heat_demand_mw": np.zeros(n_hours), "dh_supply_temp_c": np.full(n_hours, _NO_NETWORK_SUPPLY_C)}
    if h.source == "synthetic":
        d = heat_demand(load_profile("heat", h.profile), dry_bulb_c, None, h.offtake_cap_mw)
        return {k: d[k].to_numpy() for k in ("heat_demand_mw", "dh_supply_temp_c")}
    df = read_heat_demand_csv(_path(h.path), site.timezone)
    cols = ("heat_demand_mw", "dh_supply_temp_c") if "dh_supply_temp_c" in df else ("heat_demand_mw",)
    out = map_to_hours(df, cols, start, n_hours, file=str(h.path), what="heat-demand CSV")
    out["heat_demand_mw"] = np.minimum(out["heat_demand_mw"], h.offtake_cap_mw)
    if "dh_supply_temp_c" not in out:
        out["dh_supply_temp_c"] = dh_supply_temp_c(load_profile("heat", h.profile), dry_bulb_c)
    return out


def site_series(site: SiteConfig, timeline: Timeline, seed: int) -> pd.DataFrame:
    """Site time series on the run's steps: ``timeline.n_steps`` rows, index 0..n-1.

    Columns: ``dry_bulb_c`` [°C], ``rel_humidity_pct`` [%], ``wet_bulb_c`` [°C] (psychrolib at the site's
    pressure), ``air_pressure_pa`` [Pa] (the site's, one constant: ``dctwin.site.psychro.site_air_pressure``),
    ``price_eur_per_mwh`` [EUR/MWh], ``carbon_g_per_kwh`` [gCO2/kWh],
    ``heat_demand_mw`` [MW], ``dh_supply_temp_c`` [°C]. Hourly series are
    averaged over steps of an hour or more; shorter steps interpolate weather
    and heat and hold the hour's price and carbon. Same seed, same bytes.
    """
    n_hours = max(math.ceil(timeline.n_steps * timeline.step_s / 3600.0), 1)
    start = timeline.start
    hourly = _weather(site, start, n_hours, seed)
    hourly.update(_grid(site, start, n_hours, seed))
    hourly.update(_heat(site, hourly["dry_bulb_c"], start, n_hours))
    held = {"price_eur_per_mwh", "carbon_g_per_kwh"}
    cols = {c: to_steps(hourly[c], 0.0, timeline.step_s, timeline.n_steps, hold=c in held) for c in SITE_COLUMNS}
    return pd.DataFrame(cols, index=pd.RangeIndex(timeline.n_steps))
