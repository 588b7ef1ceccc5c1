"""Run validation cases, print the table, write it as Markdown; the ``dctwin validate`` command."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dctwin.errors import InputError
from dctwin.validate.cases import Case, CaseResult, load_cases, run_case

__all__ = ["markdown_table", "print_table", "run_cases", "select_cases", "validate_command"]


def select_cases(cases: list[Case], fast_only: bool = True, case_ids: list[str] | None = None) -> list[Case]:
    """The cases to run: the named ones (any speed), else all or only the fast ones."""
    if case_ids:
        known = {c.id: c for c in cases}
        bad = [i for i in case_ids if i not in known]
        if bad:
            raise InputError("unknown validation case", field="case", value=", ".join(bad),
                             allowed=", ".join(sorted(known)))
        return [known[i] for i in case_ids]
    return [c for c in cases if c.fast or not fast_only]


_ROLE_ORDER = {"check": 0, "consistency": 1, "calibration": 2}


def run_cases(cases: list[Case]) -> list[CaseResult]:
    """Run each case; results are listed checks first, then consistency, then calibration cases."""
    results = [run_case(c) for c in cases]
    return sorted(results, key=lambda r: _ROLE_ORDER.get(r.case.role, 3))


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    ax = abs(x)
    return f"{x:,.0f}" if ax >= 1000 else f"{x:.4g}"


def _verdict(r: CaseResult) -> str:
    if r.passed:
        return "pass"
    return "FAIL (known gap)" if r.case.known_gap else "FAIL"


def print_table(results: list[CaseResult], console: Console | None = None) -> None:
    """A rich table: case, role, source, published, modelled, error, tolerance, pass."""
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    t = Table(title="dctwin validation", show_lines=False)
    for col in ("case", "role", "source", "published", "modelled", "unit", "error", "tolerance", "result"):
        t.add_column(col, no_wrap=col != "source", overflow="ellipsis", max_width=40 if col == "source" else None,
                     justify="right" if col in ("published", "modelled", "error") else "left")
    for i, r in enumerate(results):
        if i and r.case.role != results[i - 1].case.role:
            t.add_section()
        row = r.row
        err = "-" if r.error_rel is None else f"{100 * r.error_rel:+.1f}%"
        style = "green" if r.passed else ("yellow" if r.case.known_gap else "red")
        t.add_row(r.case.id, r.case.role, r.case.source_title[:38], _fmt(row["published"]), _fmt(r.modelled),
                  r.case.unit, err, row["tolerance"], f"[{style}]{_verdict(r)}[/{style}]")
    console.print(t)
    n_fail = sum(r.blocking for r in results)
    n_gap = sum((not r.passed) and bool(r.case.known_gap) for r in results)
    console.print(f"{len(results)} cases: {sum(r.passed for r in results)} pass, {n_fail} fail, {n_gap} known gaps")
    for role in _ROLE_ORDER:
        mine = [r for r in results if r.case.role == role]
        if mine:
            console.print(f"  {role}: {sum(r.passed for r in mine)} of {len(mine)} pass")


def markdown_table(results: list[CaseResult]) -> str:
    """The results as a Markdown table with linked sources and the known gaps below it."""
    lines = ["| case | role | published | modelled | unit | error | tolerance | result | source |",
             "|---|---|---:|---:|---|---:|---|---|---|"]
    for r in results:
        row = r.row
        err = "-" if r.error_rel is None else f"{100 * r.error_rel:+.1f}%"
        src = f"[{r.case.source_title}]({r.case.source_url})".replace("|", "/")
        lines.append(f"| `{r.case.id}` | {r.case.role} | {_fmt(row['published'])} | {_fmt(r.modelled)} | "
                     f"{r.case.unit} | {err} | {row['tolerance']} | {_verdict(r)} | {src} |")
    gaps = [r for r in results if r.case.known_gap]
    if gaps:
        lines += ["", "Known gaps:", ""]
        lines += [f"- `{r.case.id}`: {r.case.known_gap}" for r in gaps]
    return "\n".join(lines) + "\n"


def validate_command(fast_only: bool = True, case_ids: list[str] | None = None, markdown_out: Path | None = None,
                     cases_file: Path | None = None, console: Console | None = None, replace: bool = False) -> int:
    """Run the cases, print the table, optionally write Markdown (an existing file only with ``replace``); 0 if
    every case passes (known gaps aside), else 1."""
    from dctwin.safeout import check_output_file, write_output_text

    if markdown_out is not None:  # checked before the cases run: a folder, a path under a file or inside a run
        check_output_file(markdown_out, "--markdown", replace=replace)
    cases = select_cases(load_cases(cases_file), fast_only, case_ids)
    results = run_cases(cases)
    print_table(results, console)
    if markdown_out is not None:  # temporary file and rename: a full disk is a clear error, no half table
        write_output_text(markdown_out, markdown_table(results), "--markdown", replace=replace)
    return 1 if any(r.blocking for r in results) else 0
