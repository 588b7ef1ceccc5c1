"""dctwin.site: climate, grid and district-heating series for a site.

``site_series(site, timeline, seed)`` is what the run uses; the synthesisers
and readers below are public so users can inspect or bring their own data.
"""

from dctwin.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "synthesize_weather": "dctwin.site.climate", "synthesize_grid": "dctwin.site.grid",
    **dict.fromkeys(("dh_supply_temp_c", "heat_demand", "heat_price_factor"), "dctwin.site.heat"),
    **dict.fromkeys(("read_carbon_file", "read_price_file"), "dctwin.site.market_readers"),
    **dict.fromkeys(("available_profiles", "load_profile"), "dctwin.site.profiles"),
    **dict.fromkeys(("dew_point_c", "rel_humidity_pct", "site_air_pressure"), "dctwin.site.psychro"),
    **dict.fromkeys(("read_epw", "read_grid_csv", "read_heat_demand_csv", "read_weather_csv"), "dctwin.site.readers"),
    **dict.fromkeys(("SITE_COLUMNS", "site_series"), "dctwin.site.series"),
})

__all__ = [
    "SITE_COLUMNS",
    "available_profiles",
    "dew_point_c",
    "dh_supply_temp_c",
    "heat_demand",
    "heat_price_factor",
    "load_profile",
    "read_carbon_file",
    "read_epw",
    "read_grid_csv",
    "read_heat_demand_csv",
    "read_price_file",
    "read_weather_csv",
    "rel_humidity_pct",
    "site_series",
    "synthesize_grid",
    "synthesize_weather",
]
