"""`dctwin site ...`: the packaged grid zones and country tariffs a scenario can name."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Grid zones, country tariffs and site data shipped with dctwin.", no_args_is_help=True)
out = Console()


@app.command("zones")
def zones() -> None:
    """List the grid zones (site.grid.zone) with their sourced annual statistics, and the countries (site.country)."""
    from dctwin.config.site import known_countries
    from dctwin.site.profiles import available_profiles, load_profile, profile_header

    t = Table(title="grid zones (site/data/grid/<zone>.yaml; statistics of the reference year)")
    for col in ("zone", "country", "market", "year", "mean price [EUR/MWh]", "negative hours [%]",
                "carbon, location-based [g/kWh]", "residual mix [g/kWh]"):
        t.add_column(col, justify="right" if "[" in col else "left")
    for ident in available_profiles("grid"):
        h, p = profile_header("grid", ident), load_profile("grid", ident)
        t.add_row(str(h["zone"]), str(h["country"]), escape(str(h["name"])), str(h.get("reference_year", "?")),
                  f"{p['annual_mean_eur_per_mwh']:.1f}", f"{100 * p['negative_hour_share']:.1f}",
                  f"{p['carbon_annual_mean_g_per_kwh']:.0f}", f"{p['residual_mix_g_per_kwh']:.0f}")
    out.print(t)
    c = Table(title="countries (site/data/tariffs/<country>.yaml; excl. VAT, which an operator recovers)")
    for col in ("country", "name", "electricity tax [EUR/MWh]", "grid fee [EUR/MWh]", "VAT [%]"):
        c.add_column(col, justify="right" if "[" in col else "left")
    for cc in known_countries():
        h, p = profile_header("tariffs", cc.lower()), load_profile("tariffs", cc.lower())
        c.add_row(cc, escape(str(h["name"])), f"{p['electricity_tax_eur_per_mwh']:g}",
                  f"{p['grid_fee_eur_per_mwh']:g}", f"{100 * p['vat_rate']:g}")
    out.print(c)
