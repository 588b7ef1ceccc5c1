"""Write the planner's results: the chosen design as a scenario file, the Pareto table and figure."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from dctwin.config import Scenario
from dctwin.plan.model import Design

__all__ = ["confirm_by_simulation", "constraint_rows", "design_rows", "design_to_scenario_dict", "serving_rows",
           "write_outputs"]

# constraint -> (label, unit, Design attribute it limits)
CONSTRAINTS = {
    "budget_eur": ("Capex budget", "EUR", "capex_eur"),
    "grid_connection_mw": ("Grid connection (peak draw)", "MW", "grid_peak_mw"),
    "floor_space_m2": ("White space", "m2", "floor_m2"),
    "carbon_cap_t_per_year": ("Carbon cap (market-based)", "t CO2/year", "carbon_t_per_year"),
    "min_training_pflops": ("Training target", "PFLOP/s", "training_pflops"),
    "min_tokens_per_day": ("Inference target", "output tokens/day", "tokens_per_day"),
}


def design_rows(design: Design, confirm: pd.DataFrame | None = None) -> list[tuple[str, str, str]]:
    """The chosen design as ``(what, value, unit)`` rows for a person to read."""
    racks = ", ".join(f"{n} x {pl} ({ph})" for (ph, pl), n in sorted(design.racks.items()) if n)
    cooling = f"dry coolers {design.dry_cooler_mw:,.1f} MW" + (
        f" + chillers {design.chiller_mw:,.1f} MW" if design.chiller_mw > 1e-6 else ", no chillers")
    heat = f"heat pumps {design.heat_pump_mw:,.1f} MW" if design.heat_pump_mw > 1e-6 else "none"
    rows = [("Racks", racks, "racks"), ("GPUs", f"{design.gpus:,}", "GPUs"),
            ("IT capacity at full load", f"{design.it_mw:,.2f}", "MW"), ("Cooling", cooling, "MW"),
            ("Heat reuse", heat, "MW"), ("Power-chain redundancy", design.redundancy, "level"),
            ("PPA share of grid energy", f"{100 * design.ppa_share:,.0f}", "%"),
            ("Capex", f"{design.capex_eur:,.0f}", "EUR"),
            ("Equivalent annual cost", f"{design.cost_eur_per_year:,.0f}", "EUR/year")]
    if design.it_mean_mw > 0:
        rows.append(("PUE, planner estimate (grid / IT energy, heat pumps in)",
                     f"{design.energy_mwh_per_year / (design.it_mean_mw * 8760.0):.3f}", "kWh/kWh"))
    if design.gpus > 0:
        rows.append(("Cost per GPU-hour available (annual cost / GPU-hours)",
                     f"{design.cost_eur_per_year / (design.gpus * 8760.0):.2f}", "EUR/GPU-h"))
    if confirm is not None and len(confirm):
        first = confirm.iloc[0]
        rows.append((f"PUE, simulated ({first['sim_days']:g} days)", f"{first['sim_pue']:.3f}", "kWh/kWh"))
    rows.append(("Emissions, market-based", f"{design.carbon_t_per_year:,.0f}", "t CO2/year"))
    return rows + serving_rows(design)


def serving_rows(design: Design) -> list[tuple[str, str, str]]:
    """The serving replica the token capacity of each chosen rack type was sized with, and the rack options
    on which no layout meets the token model's targets (they add no tokens/day)."""
    chosen = sorted({pl for (_, pl), n in design.racks.items() if n})
    rows = [(f"Serving replica on {pl} (token capacity sized with)", design.serving[pl], "layout")
            for pl in chosen if pl in design.serving]
    none = [pl for pl, what in sorted(design.serving.items()) if what.startswith("none")]
    if none:
        rows.append(("Rack options with no serving layout at the targets", ", ".join(none), "rack types"))
    return rows


def constraint_rows(design: Design, limits: dict[str, float | None]) -> list[tuple[str, str, str, str, str]]:
    """``(constraint, limit, design, unit, state)`` for each constraint with a limit; state is
    ``binds`` when the design sits on the limit, else the headroom left."""
    rows = []
    for name, (label, unit, attr) in CONSTRAINTS.items():
        limit = limits.get(name)
        if limit is None:
            continue
        value = float(getattr(design, attr))
        if name in design.binding:
            state = "binds"
        else:
            gap = value - limit if name.startswith("min_") else limit - value
            state = f"{gap:,.4g} {unit} to spare" + (" (whole racks)" if name.startswith("min_") else "")
        rows.append((f"{label} ({name})", f"{limit:,.4g}", f"{value:,.4g}", unit, state))
    return rows


def design_to_scenario_dict(design: Design, base: Scenario, base_ref: str, grid_mw: float) -> dict:
    """A scenario mapping that ``extends`` the base and sets the design's choices."""
    envelope = min(grid_mw, math.ceil(design.grid_peak_mw * 10) / 10)
    phases = []
    for ph in base.phases:
        racks = [{"platform": pid, "count": n} for (name, pid), n in sorted(design.racks.items())
                 if name == ph.name and n > 0]
        if racks:
            phases.append({"name": ph.name, "start": ph.start.isoformat(), "racks": racks,
                           "power_envelope_mw": envelope})
    return {
        "extends": base_ref,
        "name": f"{base.name}-plan",
        "description": f"Design chosen by `dctwin plan` from {base.name}: {design.as_row()['racks']}; "
                       f"dry coolers {design.dry_cooler_mw:.1f} MW (inside the facility rate).",
        "site": {"grid_connection_mw": grid_mw},
        "phases": phases,
        "facility": {
            "power_chain": {"redundancy": design.redundancy},
            "cooling": {"chiller_capacity_mw": round(design.chiller_mw, 3),
                        "overload_rule": "chillers" if design.chiller_mw > 0 else base.facility.cooling.overload_rule},
            "heat_reuse": {"enabled": design.heat_pump_mw > 0, "heat_pump_capacity_mw": round(design.heat_pump_mw, 3)},
        },
        "economics": {"ppa_share": round(min(max(design.ppa_share, 0.0), 1.0), 4)},
    }


def _figure(pareto: pd.DataFrame, path: Path, compute_label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    # Market-based carbon is zero for every design with a full PPA; then colour by location-based.
    col, what = "carbon_t_per_year", "market-based"
    if float(pareto[col].max()) - float(pareto[col].min()) <= 1e-6 and "carbon_location_t_per_year" in pareto:
        col, what = "carbon_location_t_per_year", "location-based (market-based is the same for all)"
    sc = ax.scatter(pareto["compute"], pareto["cost_eur_per_year"] / 1e6, c=pareto[col], cmap="viridis", s=50)
    chosen = pareto[pareto["chosen"]]
    ax.scatter(chosen["compute"], chosen["cost_eur_per_year"] / 1e6, facecolors="none", edgecolors="red", s=160,
               label="chosen design")
    fig.colorbar(sc, ax=ax, label=f"emissions, {what} [tCO2/year]")
    ax.set_xlabel(compute_label)
    ax.set_ylabel("equivalent annual cost [MEUR/year]")
    ax.set_title("Design Pareto front: cost vs compute vs carbon")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(out_dir: Path, design: Design, pareto: pd.DataFrame, base: Scenario, base_ref: str,
                  grid_mw: float, confirm: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write ``design.yaml``, ``pareto.csv``, ``pareto.png`` (and ``confirm.csv``) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"scenario": out_dir / "design.yaml", "pareto_csv": out_dir / "pareto.csv",
             "pareto_png": out_dir / "pareto.png"}
    doc = design_to_scenario_dict(design, base, base_ref, grid_mw)
    header = "# Written by `dctwin plan`; load with `dctwin run <this file>`.\n"
    paths["scenario"].write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    pareto.to_csv(paths["pareto_csv"], index=False)
    label = ("training capacity [PFLOP/s FP8 x MFU]" if (pareto["target"] == "min_training_pflops").all()
             else "inference capacity [output tokens/day]")
    _figure(pareto, paths["pareto_png"], label)
    if confirm is not None:
        paths["confirm_csv"] = out_dir / "confirm.csv"
        confirm.to_csv(paths["confirm_csv"], index=False)
    return paths


def confirm_by_simulation(designs: list[Design], base: Scenario, base_ref: str, grid_mw: float,
                          days: float | None = None) -> pd.DataFrame:
    """Run the full twin (``dctwin.orchestrator.simulate``) on each design and set its KPIs beside the LP's estimate.

    ``days`` shortens the simulated span (the LP's energy is scaled to it for the comparison).
    """
    from dctwin.config.load import _load_chain, _locate, deep_merge, scenario_from_dict
    from dctwin.orchestrator import simulate

    base_data, _ = _load_chain(_locate(base_ref, None), ())
    rows = []
    for i, d in enumerate(designs):
        doc = design_to_scenario_dict(d, base, base_ref, grid_mw)
        doc.pop("extends")
        if days is not None:
            doc["simulation"] = {"duration_days": float(days)}
        sc = scenario_from_dict(deep_merge(base_data, doc), source=f"plan design {i}")
        k = simulate(sc).kpis
        span_days = sc.simulation.duration_days
        rows.append({"design": i, "racks": d.as_row()["racks"], "sim_days": span_days,
                     "lp_energy_mwh": d.energy_mwh_per_year * span_days / 365.0,
                     "sim_energy_mwh": k.get("grid_energy_mwh"), "lp_capex_eur": d.capex_eur,
                     "sim_capex_eur": k.get("capex_eur"), "sim_tco_eur": k.get("tco_eur"),
                     "sim_pue": k.get("pue"), "sim_emissions_market_t": k.get("emissions_market_t")})
    return pd.DataFrame(rows)
