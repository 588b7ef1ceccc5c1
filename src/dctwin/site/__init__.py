"""dctwin.site: climate, grid and district-heating series for a site.

``site_series(site, timeline, seed)`` is what the run uses; the synthesisers
and readers below are public so users can inspect or bring their own data.
"""

from dctwin.site.climate import synthesize_weather
from dctwin.site.grid import synthesize_grid
from dctwin.site.heat import dh_supply_temp_c, heat_demand, heat_price_factor
from dctwin.site.market_readers import read_carbon_file, read_price_file
from dctwin.site.profiles import available_profiles, load_profile
from dctwin.site.psychro import dew_point_c, rel_humidity_pct, wet_bulb_stull_c
from dctwin.site.readers import read_epw, read_grid_csv, read_heat_demand_csv, read_weather_csv
from dctwin.site.series import SITE_COLUMNS, site_series

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
    "wet_bulb_stull_c",
]
