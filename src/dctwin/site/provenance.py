"""Where each site series of a run comes from, and warnings when the data were made for another place.

``site_provenance(site, seed)`` lists, for weather, price/carbon and heat
demand, the packaged data file (with its statistics' year), the user file
(with its SHA-256) or the synthetic generator (with its seed). The run's
manifest records it and the report shows it. ``site_warnings(site)`` names
every series whose data belong to another country, zone or place than the
scenario's site; ``scenario validate``, ``run`` and the report print them.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

from dctwin.config.site import SiteConfig
from dctwin.errors import InputError
from dctwin.safeio import MAX_JOB_FILE_BYTES, MAX_SERIES_BYTES, read_input
from dctwin.site.profiles import profile_header

__all__ = ["FAR_KM", "distance_km", "economics_provenance", "epw_location", "site_provenance", "site_warnings"]

FAR_KM = 100.0  # a climate or heat network further than this from the site is not the site's own


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance [km] on a 6,371 km sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def epw_location(path: str | Path) -> tuple[str, float, float] | None:
    """(place, latitude, longitude) from an EPW file's LOCATION line, or None if it cannot be read."""
    try:
        text = read_input(path, MAX_SERIES_BYTES, what="EPW file").data[:4096].decode("utf-8", errors="replace")
        head = text.split("\n", 1)[0].split(",")
        return f"{head[1].strip()} ({head[3].strip()})", float(head[6]), float(head[7])
    except (InputError, IndexError, ValueError):
        return None



def _user_file(kind: str, path: Path | None, fmt: str = "csv") -> str:
    """'user file <path> (<format>), sha256 <hex>', or 'packaged file ...' for files shipped with dctwin."""
    p = Path(path) if path is not None else Path("?")
    try:  # the bytes the run's reader parsed (dctwin.safeio.read_once), not a second read of the path
        digest = read_input(p, MAX_JOB_FILE_BYTES, what=f"{kind} file").sha256
    except InputError:
        digest = "file missing"
    package = Path(str(resources.files("dctwin"))).resolve()
    try:
        shown, who = p.resolve().relative_to(package).as_posix(), "packaged file"
    except ValueError:
        shown, who = str(p), "user file"
    return f"{who} {shown} ({fmt}), sha256 {digest}"


_WEATHER = "dry_bulb_c, rel_humidity_pct, wet_bulb_c"
_PRICE_CARBON = "price_eur_per_mwh, carbon_g_per_kwh"
_HEAT = "heat_demand_mw, dh_supply_temp_c"


def _entry(series: str, origin: str, data_file: str) -> dict[str, str]:
    return {"series": series, "origin": origin, "data_file": data_file}


def _user_entry(series: str, kind: str, path: Path | None, fmt: str = "csv") -> dict[str, str]:
    return _entry(series, _user_file(kind, path, fmt), str(path))


def _climate_entries(c, seed: int) -> list[dict[str, str]]:
    if c.source != "synthetic":
        return [_user_entry(_WEATHER, "climate", c.path, c.source)]
    h = profile_header("climate", c.normals)
    return [_entry(_WEATHER, f"synthetic weather, seed {seed}, matching the monthly normals of "
                   f"{h.get('name', c.normals)}", f"site/data/climate/{c.normals}.yaml")]


def _grid_entries(g, seed: int) -> list[dict[str, str]]:
    zone_file = f"site/data/grid/{g.profile_id}.yaml"
    if g.source == "synthetic":
        h = profile_header("grid", g.profile_id)
        origin = (f"synthetic, seed {seed}, matching zone {h.get('zone')}'s {h.get('reference_year')} monthly mean "
                  f"price and carbon intensity ({h.get('name')})")
        out = [_entry(_PRICE_CARBON, origin, zone_file)]
    else:
        both = g.format == "plain"
        out = [_user_entry(_PRICE_CARBON if both else "price_eur_per_mwh", "grid", g.path, g.format)]
        if not both and g.carbon_path is None:
            out.append(_entry("carbon_g_per_kwh", f"synthetic, seed {seed}, matching zone {g.zone}'s monthly mean "
                              "carbon intensity (the price file has no carbon)", zone_file))
    if g.carbon_path is not None:  # the carbon file replaces any other carbon
        out = [r for r in out if r["series"] != "carbon_g_per_kwh"]
        out[-1] = {**out[-1], "series": "price_eur_per_mwh"}
        out.append(_user_entry("carbon_g_per_kwh", "grid", g.carbon_path, g.carbon_format))
    return out


def _heat_entries(d) -> list[dict[str, str]]:
    if d.source == "none":
        return [_entry(_HEAT, "no district-heating network (heat_demand.source: none): demand 0", "scenario")]
    if d.source == "synthetic":
        h = profile_header("heat", d.profile)
        return [_entry(_HEAT, f"degree-hour model of {h.get('name', d.profile)} driven by this run's outdoor "
                       "temperature", f"site/data/heat/{d.profile}.yaml")]
    return [_user_entry(_HEAT, "heat", d.path)]


def _air_pressure_entry(site: SiteConfig) -> dict[str, str]:
    """The one air pressure the run's moist air (wet bulb, humidity ratio, the fans' air density) is computed at."""
    from dctwin.site.psychro import site_pressure

    _, origin = site_pressure(site)
    return _entry("air_pressure_pa (wet_bulb_c, the air-side humidity and the fans' air density at it)", origin,
                  str(site.climate.path) if site.climate.source == "epw" else "dctwin.site.psychro")


def site_provenance(site: SiteConfig, seed: int) -> list[dict[str, str]]:
    """One entry per series group: ``series`` (column names), ``origin`` (text), ``data_file`` (packaged id or path)."""
    return (_climate_entries(site.climate, seed) + [_air_pressure_entry(site)]
            + _grid_entries(site.grid, seed) + _heat_entries(site.heat_demand))


def _far(what: str, place: str, lat: float, lon: float, site: SiteConfig) -> list[str]:
    km = distance_km(site.latitude_deg, site.longitude_deg, lat, lon)
    if km <= FAR_KM:
        return []
    return [f"{what} were made for {place}, {km:,.0f} km from the site ({site.name}); "
            f"they are not this site's own"]


def _elevation_mismatch(path, site: SiteConfig) -> list[str]:
    """A sentence when the EPW header's elevation and site.elevation_m differ by more than ELEVATION_MISMATCH_M."""
    from dctwin.site.psychro import ELEVATION_MISMATCH_M

    try:
        head = read_input(path, MAX_SERIES_BYTES, what="EPW file").data[:4096].decode("utf-8", errors="replace")
        epw_m = float(head.split("\n", 1)[0].split(",")[9])
    except (InputError, IndexError, ValueError):
        return []
    if abs(epw_m - site.elevation_m) <= ELEVATION_MISMATCH_M:
        return []
    return [f"the EPW weather file's station sits at {epw_m:g} m, site.elevation_m is {site.elevation_m:g} m "
            f"(more than {ELEVATION_MISMATCH_M:g} m apart): moist air is computed at the file's mean station "
            "pressure, not at the site's elevation"]


def site_warnings(site: SiteConfig) -> list[str]:
    """Plain sentences, one per series whose data were made for another country, zone or place."""
    out: list[str] = []
    zone = profile_header("grid", site.grid.profile_id)
    if str(zone.get("country", "")).upper() != site.country:
        out.append(f"grid zone {site.grid.zone} lies in {zone.get('country')}, but the site's country is "
                   f"{site.country}: prices and carbon are {site.grid.zone}'s, taxes and fees {site.country}'s")
    if zone.get("timezone") and zone["timezone"] != site.timezone:
        out.append(f"the site's time zone {site.timezone} differs from grid zone {site.grid.zone}'s "
                   f"({zone['timezone']})")
    c = site.climate
    if c.source == "synthetic":
        h = profile_header("climate", c.normals)
        if "longitude_deg" in h:
            out += _far("climate normals", str(h.get("name", c.normals)), h["latitude_deg"], h["longitude_deg"], site)
    elif c.source == "epw" and c.path is not None and (loc := epw_location(c.path)) is not None:
        out += _far("the EPW weather data", loc[0], loc[1], loc[2], site)
        out += _elevation_mismatch(c.path, site)
    d = site.heat_demand
    if d.source == "synthetic":
        h = profile_header("heat", d.profile)
        if "longitude_deg" in h:
            out += _far("the district-heating demand and supply-temperature data", str(h.get("name", d.profile)),
                        h["latitude_deg"], h["longitude_deg"], site)
    return out


def economics_provenance(scenario) -> list[dict[str, str]]:
    """Origin of the economics figures a site implies (tax, grid fee, residual mix): data file or scenario."""
    econ, site = scenario.economics, scenario.site
    filled = getattr(econ, "_from_site", frozenset())
    rows = [("energy_tax_eur_per_mwh", f"site/data/tariffs/{site.country.lower()}.yaml", f"{site.country} tariff"),
            ("grid_fee_eur_per_mwh", f"site/data/tariffs/{site.country.lower()}.yaml", f"{site.country} tariff"),
            ("residual_mix_g_per_kwh", f"site/data/grid/{site.grid.profile_id}.yaml", f"zone {site.grid.zone}"),
            ("heat_price_eur_per_mwh", "scenario" if site.heat_demand.source == "none" else
             f"site/data/heat/{site.heat_demand.profile}.yaml", f"heat network '{site.heat_demand.profile}'")]
    out = []
    for key, file, what in rows:
        value = getattr(econ, key)
        if key in filled and file == "scenario":
            out.append({"series": key, "origin": f"{value:g}: no district-heating network buys heat here",
                        "data_file": file})
        elif key in filled:
            out.append({"series": key, "origin": f"{value:g} from the {what}", "data_file": file})
        else:
            out.append({"series": key, "origin": f"{value:g} set in the scenario", "data_file": "scenario"})
    return out
