"""Assemble and write the report and comparison pages (atomic: temp file, then rename)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dctwin.errors import InputError
from dctwin.report.compare import build_compare_figures
from dctwin.report.data import RunData, load_run
from dctwin.report.figures import build_figures
from dctwin.report.html import figure_blocks, render, scenario_text
from dctwin.report.investor import investor_context
from dctwin.report.kpis import GROUPS, compare_rows, kpi_cards, kpi_rows
from dctwin.report.span import compare_warnings, span_of, span_warnings

__all__ = ["REPORT_FILE", "comparison_html", "draw_js", "report_html", "write_comparison", "write_report"]

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"


def draw_js() -> str:
    from importlib import resources

    return (resources.files("dctwin.report") / "templates" / "draw.js").read_text(encoding="utf-8")


def _peak_notes(kpis: dict) -> list[str]:
    """The peak-power warnings of the run (design-day and run peak over grid connection or envelope)."""
    from dctwin.facility.peak import peak_messages_from_kpis

    return [f"Grid limit: {m}." for m in peak_messages_from_kpis(kpis)]


def report_context(run: RunData, figures: tuple[dict, dict] | None = None) -> dict:
    figs, notes = figures or build_figures(run)
    return {"run": run, "kpi_rows": kpi_rows(run.kpis, run.manifest), "kpi_cards": kpi_cards(run.kpis, run.manifest),
            "kpi_groups": GROUPS, "span_notes": span_warnings(run.kpis, run.manifest),
            "grid_notes": _peak_notes(run.kpis),
            "figures": figure_blocks(figs), "notes": notes, "scenario_text": scenario_text(run.scenario),
            "investor": investor_context(run)}


def report_html(run: RunData, *, inline_plotly: bool = True, figures: tuple[dict, dict] | None = None) -> str:
    """The report page of one run as HTML text (``figures``: the result of ``build_figures``, if already built)."""
    return render("report.html", inline_plotly=inline_plotly, draw_js=draw_js(), **report_context(run, figures))


def _version_notes(runs: Sequence[RunData]) -> list[str]:
    """A warning when the runs were written by different dctwin versions (their models may differ)."""
    versions = {r.name: str(r.manifest.get("dctwin_version", "unknown")) for r in runs}
    if len(set(versions.values())) < 2:
        return []
    listed = ", ".join(f"{name}: {v}" for name, v in versions.items())
    return [f"These runs were written by different dctwin versions ({listed}); differences below can come from "
            "changes of the model, not only of the scenarios. Rerun them with one version to compare scenarios."]


def compare_context(runs: Sequence[RunData]) -> dict:
    figs, notes = build_compare_figures(list(runs))
    spans = [(r, span_of(r.kpis, r.manifest)) for r in runs]
    return {"runs": list(runs), "rows": compare_rows([r.kpis for r in runs], [r.manifest for r in runs]),
            "spans": spans,
            "compare_notes": _version_notes(runs) + compare_warnings([(r.name, s) for r, s in spans]),
            "figures": figure_blocks(figs), "notes": notes}


def comparison_html(runs: Sequence[RunData], *, inline_plotly: bool = True) -> str:
    """The comparison page of several runs as HTML text."""
    return render("compare.html", inline_plotly=inline_plotly, draw_js=draw_js(), **compare_context(runs))


def _write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_report(run_dir: str | Path, *, png: bool = False) -> Path:
    """Write ``report.html`` (self-contained, opens offline) into ``run_dir``; with ``png``, also
    ``figures/<key>.png`` of every drawn figure, rendered from the same plotly figures (``report.png``)."""
    run = load_run(run_dir)
    figures = build_figures(run)
    if png:
        from dctwin.report.png import write_pngs

        write_pngs({key: fig for key, (_, fig) in figures[0].items()}, Path(run_dir) / FIGURES_DIR)
    return _write_atomic(Path(run_dir) / REPORT_FILE, report_html(run, figures=figures))


def write_comparison(run_dirs: Sequence[str | Path], out: str | Path, replace: bool = False) -> Path:
    """Write one self-contained HTML file comparing ``run_dirs`` (the first is the baseline); an existing ``out``
    only with ``replace``. Never into a run directory (``dctwin.safeout``)."""
    from dctwin.safeout import check_output_file, write_output_text

    if len(run_dirs) < 2:
        raise InputError("compare needs at least two runs", field="run_dirs", value=[str(p) for p in run_dirs],
                         allowed="two or more run directories")
    check_output_file(out, "--out", _HTML, replace)  # before the runs are read
    runs = [load_run(p) for p in run_dirs]
    return write_output_text(out, comparison_html(runs), "--out", _HTML, replace)


_HTML = (".html", ".htm")
