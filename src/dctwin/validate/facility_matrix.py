"""Annual PUE of three hall designs in three climates, with its breakdown by component.

Halls (1 MW installed IT at 80 % load all year, heat reuse off so PUE
compares designs, every default otherwise):

- all-air: 8-GPU air-cooled servers, CRAH coils on air-cooled chillers with an
  indirect air economiser, supply air 27 °C (ASHRAE recommended);
- liquid: direct liquid cooling of the whole rack (W45), dry coolers;
- hybrid: 70 % of the heat to W32 cold plates with dry coolers and trim
  chillers, the rest to CRAH air as in the all-air hall.

Climates: Helsinki (cold, IWEC), San Francisco (temperate, TMY3), Tampa
(hot-humid, TMY3). The markdown table goes into docs/validation.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from dctwin.config.facility import FacilityConfig
from dctwin.facility import simulate_facility
from dctwin.site.readers import read_epw

__all__ = ["CLIMATES", "HALLS", "hall_year", "matrix_rows", "matrix_markdown"]

INSTALLED_KW = 1000.0
LOAD_FRAC = 0.8

HALLS: dict[str, tuple[float, dict]] = {
    "all-air": (0.0, {"cooling": {"air_cooling": "crah_chiller", "air_economiser": "indirect_air"}}),
    "liquid": (1.0, {"cooling": {"liquid_supply_temp_c": 45.0}}),
    "hybrid": (0.7, {"cooling": {"liquid_supply_temp_c": 32.0, "design_ambient_c": 22.0, "overload_rule": "chillers",
                                 "chiller_capacity_mw": 0.8, "air_cooling": "crah_chiller",
                                 "air_economiser": "indirect_air"}}),
}
CLIMATES: dict[str, tuple[str, str]] = {
    "cold (Helsinki)": ("site", "FIN_Helsinki.029740_IWEC.epw"),
    "temperate (San Francisco)": ("facility", "USA_CA_San.Francisco.Intl.AP.724940_TMY3.epw"),
    "hot-humid (Tampa)": ("facility", "USA_FL_Tampa.Intl.AP.722110_TMY3.epw"),
}
PARTS = (("power chain", ("utility_transformer_loss_kw", "transformer_loss_kw", "switchgear_loss_kw", "ups_loss_kw",
                          "distribution_loss_kw")),
         ("air fans", ("crah_fan_kw",)), ("chillers / DX", ("chiller_kw",)),
         ("pumps", ("cdu_pump_kw", "facility_pump_kw")), ("dry coolers", ("dry_cooler_fan_kw", "adiabatic_kw")),
         ("humidifiers", ("humidifier_kw",)), ("ancillary", ("ancillary_kw",)))


def weather_path(climate: str) -> Path:
    pkg, name = CLIMATES[climate]
    return Path(str(resources.files(f"dctwin.{pkg}") / "data" / "weather" / name))


def hall_year(hall: str, climate: str):
    """(design, facility result) of ``hall`` over the typical year of ``climate`` at hourly steps."""
    lf, doc = HALLS[hall]
    design = FacilityConfig.model_validate({**doc, "heat_reuse": {"enabled": False}})
    w = read_epw(weather_path(climate))
    n = len(w)
    r = simulate_facility(design, np.full(n, INSTALLED_KW * LOAD_FRAC), lf, w["dry_bulb_c"].to_numpy(), None,
                          w["rel_humidity_pct"].to_numpy(), 0.0, None, INSTALLED_KW, 3600)
    return design, r


def matrix_rows() -> list[dict]:
    """One row per hall and climate: annual PUE and each component's energy per IT energy [kWh/kWh]."""
    rows = []
    for hall in HALLS:
        for climate in CLIMATES:
            _, r = hall_year(hall, climate)
            it = float(r.it_power_kw.sum())
            row = {"hall": hall, "climate": climate,
                   "pue": float((r.grid_power_kw - r.heat_pump_kw).sum()) / it,
                   "throttled_it_mwh": float(r.throttled_it_kw.sum()) / 1000.0,
                   "air_shortfall_h": int((r.air_cooling_shortfall_kw > 0).sum())}
            for label, fields in PARTS:
                row[label] = sum(float(getattr(r, f).sum()) for f in fields) / it
            rows.append(row)
    return rows


def matrix_markdown(rows: list[dict] | None = None) -> str:
    """The matrix as a Markdown table (PUE and breakdown in kWh per kWh of IT energy)."""
    rows = matrix_rows() if rows is None else rows
    head = ["hall", "climate", "PUE [-]", *(f"{p} [kWh/kWh IT]" for p, _ in PARTS), "IT throttled [MWh]",
            "air shortfall [h]"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["hall"], r["climate"], f"{r['pue']:.3f}", *(f"{r[p]:.4f}" for p, _ in PARTS),
                 f"{r['throttled_it_mwh']:.1f}", str(r["air_shortfall_h"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
