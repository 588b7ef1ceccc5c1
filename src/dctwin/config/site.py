"""Where the site is, and where its climate, grid and heat-demand series come from."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dctwin.config.base import Section

__all__ = ["ClimateConfig", "GridConfig", "HeatDemandConfig", "SiteConfig", "known_countries", "site_economics"]


def _packaged_ids(kind: str) -> list[str]:
    """Ids of the data files shipped in ``dctwin/site/data/<kind>/`` (read without importing dctwin.site)."""
    root = resources.files("dctwin") / "site" / "data" / kind
    try:
        return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _data_values(kind: str, ident: str) -> tuple[dict, dict]:
    """Header and ``{key: value}`` of the packaged data file ``site/data/<kind>/<ident>.yaml`` (sources checked)."""
    from dctwin.datafile import read_data_yaml, read_sources, sourced_value

    path = str(resources.files("dctwin") / "site" / "data" / kind / f"{ident}.yaml")
    doc = read_data_yaml(path, "data file")
    sources = read_sources(doc, path)
    values = {k: sourced_value(e, f"values.{k}", sources, path, shape="any")[0]
              for k, e in doc.get("values", {}).items()}
    return doc, values


def known_countries() -> list[str]:
    """ISO codes of the countries with a packaged tariff file (``site/data/tariffs/<cc>.yaml``)."""
    return [c.upper() for c in _packaged_ids("tariffs")]


def _known(kind: str, value: str) -> str:
    ids = _packaged_ids(kind)
    if value not in ids:
        raise ValueError(f"unknown {kind} data file '{value}'; packaged: {', '.join(ids) or '(none)'}")
    return value


def _needs_path(source: str, path: Path | None, what: str) -> None:
    if source not in ("synthetic", "none") and path is None:
        raise ValueError(f"{what}.source '{source}' needs a 'path' to the file")
    if source == "synthetic" and path is not None:  # a file given but not used would be silently ignored
        raise ValueError(f"{what}.path is given but {what}.source is 'synthetic' (the default), so the file would "
                         f"be ignored; set {what}.source to the file's format")


class ClimateConfig(Section):
    source: Literal["synthetic", "epw", "csv"] = Field(
        "synthetic",
        description="'synthetic': generated from monthly normals; 'epw': an EnergyPlus weather file; "
        "'csv': columns timestamp, dry_bulb_c, rel_humidity_pct.",
    )
    normals: str = Field("borlange", description="Id of the climate-normals data file (synthetic source).")
    path: Path | None = Field(None, description="Weather file for source 'epw' or 'csv' (relative to the scenario "
                                                "file).")

    @field_validator("normals")
    @classmethod
    def _normals_known(cls, v: str) -> str:
        return _known("climate", v)

    @model_validator(mode="after")
    def _check(self) -> ClimateConfig:
        _needs_path(self.source, self.path, "climate")
        return self


def _zone_ids() -> dict[str, str]:
    """Packaged grid zones: upper-case zone name -> data-file id (``site/data/grid/<id>.yaml``)."""
    return {i.upper(): i for i in _packaged_ids("grid")}


class GridConfig(Section):
    zone: str = Field(
        "SE3",
        description="Bidding zone or market of the grid connection; picks the packaged price/carbon statistics "
        "(`dctwin site zones` lists them).",
    )
    source: Literal["synthetic", "csv"] = Field(
        "synthetic",
        description="'synthetic': seeded hourly price and carbon from the zone's published statistics; "
        "'csv': hourly prices from the file at `path` (plain CSV, ENTSO-E or Nord Pool export, see `format`).",
    )
    profile: str | None = Field(
        None, description="Id of the grid data file; default the zone's own. Must belong to the same zone."
    )
    path: Path | None = Field(None, description="Price file for source 'csv'.")
    format: Literal["plain", "entsoe", "nordpool"] = Field(
        "plain",
        description="Format of the price file: 'plain' (timestamp, price_eur_per_mwh, carbon_g_per_kwh in local "
        "standard time), 'entsoe' (Transparency Platform day-ahead prices CSV), 'nordpool' (data portal CSV; "
        "the column of `zone` is used). Without carbon in the file, carbon is the zone's synthetic series "
        "unless `carbon_path` is given.",
    )
    carbon_path: Path | None = Field(None, description="Hourly carbon-intensity file (replaces the synthetic carbon).")
    carbon_format: Literal["plain", "electricitymaps", "uk_carbon_intensity"] = Field(
        "plain",
        description="Format of `carbon_path`: 'plain' (timestamp, carbon_g_per_kwh), 'electricitymaps' (CSV "
        "download; life-cycle column, else direct), 'uk_carbon_intensity' (JSON of the GB Carbon Intensity API).",
    )

    @field_validator("zone")
    @classmethod
    def _zone_known(cls, v: str) -> str:
        zones = _zone_ids()
        if v.upper() not in zones:
            raise ValueError(f"unknown grid zone '{v}'; known zones: {', '.join(sorted(zones)) or '(none)'}")
        return v.upper()

    @field_validator("profile")
    @classmethod
    def _profile_known(cls, v: str | None) -> str | None:
        return None if v is None else _known("grid", v)

    @model_validator(mode="after")
    def _check(self) -> GridConfig:
        _needs_path(self.source, self.path, "grid")
        if self.source == "synthetic" and self.format != "plain":
            raise ValueError(f"grid.format '{self.format}' describes a price file; it needs source: csv and a path")
        if self.profile is not None and self.profile.upper() != self.zone:
            raise ValueError(
                f"grid.profile '{self.profile}' holds the statistics of zone {self.profile.upper()}, "
                f"not of zone {self.zone}; drop 'profile' to use zone {self.zone}'s own data"
            )
        return self

    @property
    def profile_id(self) -> str:
        """Data-file id of the zone's price and carbon statistics."""
        return self.profile or _zone_ids()[self.zone]


class HeatDemandConfig(Section):
    source: Literal["synthetic", "csv", "none"] = Field(
        "synthetic", description="'synthetic': the network's degree-hour model driven by the site's own outdoor "
        "temperature; 'csv': timestamp, heat_demand_mw (optionally dh_supply_temp_c); 'none': no district-heating "
        "network buys heat here (demand 0, heat price 0).",
    )
    profile: str = Field("borlange", description="Id of the district-heating profile data file.")
    path: Path | None = Field(None, description="Heat-demand CSV for source 'csv'.")
    offtake_cap_mw: float = Field(
        30.0,
        ge=0,
        description="Most heat the district-heating network takes from this site in any hour [MW].",
    )

    @field_validator("profile")
    @classmethod
    def _profile_known(cls, v: str) -> str:
        return _known("heat", v)

    @model_validator(mode="after")
    def _check(self) -> HeatDemandConfig:
        _needs_path(self.source, self.path, "heat_demand")
        return self


class SiteConfig(Section):
    name: str = Field(description="Site name.")
    country: str = Field(
        "SE", description="ISO 3166 country code; picks the electricity tax and grid fee (`dctwin site zones`)."
    )
    latitude_deg: float = Field(ge=-90, le=90, description="Latitude [deg N].")
    longitude_deg: float = Field(ge=-180, le=180, description="Longitude [deg E].")
    elevation_m: float = Field(0.0, ge=-500, le=6000, description="Elevation above sea level [m]: sets the site's "
                               "air pressure (the standard atmosphere, ASHRAE Fundamentals 2017 ch. 1 eq. 3) unless "
                               "an EPW climate file carries hourly station pressure (then their mean, with a warning "
                               "where the file's elevation is over 100 m away); wet bulb, humidity ratio and the "
                               "fans' air density are computed at that pressure.")
    timezone: str = Field("Europe/Stockholm", description="IANA time zone of the site.")
    grid_connection_mw: float = Field(gt=0, le=10_000, description="Contracted grid connection [MW].")
    floor_space_m2: float | None = Field(None, gt=0, description="White space available for racks [m2].")
    climate: ClimateConfig = Field(default_factory=ClimateConfig)
    grid: GridConfig = Field(default_factory=GridConfig)
    heat_demand: HeatDemandConfig = Field(default_factory=HeatDemandConfig)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
            raise ValueError(f"unknown time zone {v[:60]!r} (use an IANA name such as Europe/Stockholm)") from None
        return v

    @field_validator("country")
    @classmethod
    def _country_known(cls, v: str) -> str:
        known = known_countries()
        if v.upper() not in known:
            raise ValueError(f"no tariff data for country '{v}'; known countries: {', '.join(known) or '(none)'}")
        return v.upper()


def site_economics(site: SiteConfig) -> dict[str, float]:
    """Economics defaults a site implies: its country's tax and grid fee, its zone's residual mix, its heat price."""
    _, tariff = _data_values("tariffs", site.country.lower())
    _, zone = _data_values("grid", site.grid.profile_id)
    heat = {"waste_heat_price_eur_per_mwh": 0.0}  # no network: nobody pays for heat
    if site.heat_demand.source != "none":
        _, heat = _data_values("heat", site.heat_demand.profile)
    return {
        "energy_tax_eur_per_mwh": float(tariff["electricity_tax_eur_per_mwh"]),
        "grid_fee_eur_per_mwh": float(tariff["grid_fee_eur_per_mwh"]),
        "residual_mix_g_per_kwh": float(zone["residual_mix_g_per_kwh"]),
        "heat_price_eur_per_mwh": float(heat["waste_heat_price_eur_per_mwh"]),
    }
