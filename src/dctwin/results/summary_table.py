"""The table of headline KPIs that ``dctwin run`` prints when a run finishes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["print_run_summary"]


def _step_text(step_s: int) -> str:
    return f"{step_s}-s" if step_s < 60 else f"{step_s / 60:g}-min"


def print_run_summary(result, out: Console, err: Console) -> None:
    """The KPI table a finished run prints, its span notes and peak warnings, and where its results are."""
    from dctwin.report.span import span_warnings
    from dctwin.results.schema import field

    k = result.kpis
    table = Table(title=f"{result.scenario.name}: {result.scenario.simulation.duration_days:g} days, "
                        f"{_step_text(result.scenario.simulation.step_s)} steps")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key in _SUMMARY_KEYS:
        if key in k and k[key] is not None:
            f = field(key, "kpis")
            table.add_row(escape(f.label), f.format(k[key]), escape(f.display_unit))
    out.print(table)
    for note in span_warnings(k, {"step_s": result.scenario.simulation.step_s}):
        err.print(f"note: {note}", markup=False, highlight=False)
    from dctwin.facility.peak import peak_messages_from_kpis

    for line in peak_messages_from_kpis(k):
        err.print(f"warning: {line}", highlight=False, markup=False)
    out.print(f"results: {result.path}", markup=False, highlight=False)


_SUMMARY_KEYS = ("gpus_installed", "it_energy_mwh", "grid_energy_mwh", "pue", "erf", "wue_l_per_kwh",
                 "heat_delivered_mwh", "chiller_hours", "mean_utilisation", "goodput_frac", "completed_work_frac",
                 "jobs_completed", "tco_eur", "capex_eur", "eur_per_gpu_hour_used", "emissions_market_t")
