"""The ``dctwin`` command line. Every user error exits 2 with one clear message."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dctwin.errors import DctwinError, InputError
from dctwin.progress import quiet as hush

# One BLAS thread unless the user set one (before anything imports numpy or scipy): a run does no large linear
# algebra, and starting OpenBLAS's thread pool (numpy's and scipy's copies) costs ~0.03-0.05 s CPU of each
# run's start-up on 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

app = typer.Typer(
    help="dctwin: a digital twin of an AI datacenter (default scenario: borlange-2027).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
scenario_app = typer.Typer(help="Show, check and describe scenario files.", no_args_is_help=True)
catalog_app = typer.Typer(help="The hardware catalog.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
app.add_typer(catalog_app, name="catalog")

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

SCENARIO_ARG = typer.Argument(None, help="Scenario file or packaged name; default: borlange-2027.")
FORCE_OPTION = typer.Option(False, "--force", help="Replace the output file if it exists (else refused).")


# ---------------------------------------------------------------- run
@app.command()
def run(
    scenario: str | None = SCENARIO_ARG,
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Run directory to create (must not exist)."),
    report: bool = typer.Option(True, help="Write report.html into the run directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    cache: Path | None = typer.Option(None, "--cache", help="Stage-cache folder: stages whose inputs did not "
                                      "change are read back instead of recomputed (safe to delete)."),
) -> None:
    """Run a scenario for its whole span and write a run directory."""
    from dctwin.config import DEFAULT_SCENARIO, load_scenario
    from dctwin.config.runnable import check_runnable
    from dctwin.orchestrator import run as run_scenario
    from dctwin.report.progress import terminal_progress
    from dctwin.safeio import read_once

    sc = load_scenario(scenario)
    if out_dir is not None:  # before the checks and the run; the run checks again (its default folder too)
        from dctwin.safeout import check_new_run_dir

        check_new_run_dir(out_dir, cache)
    _print_site_warnings(sc)
    finish = None
    if report:
        from dctwin.report import write_report

        def finish(folder: Path) -> None:  # written before the run is renamed into place: never a run without it
            if not quiet:
                err.print("writing report.html ...")
            write_report(folder)
    from dctwin.process import settle_after_imports

    settle_after_imports()  # the collector leaves the imported modules alone and runs less often (dctwin.process)
    with read_once(), terminal_progress(enabled=not quiet and sys.stderr.isatty(), label=sc.name) as progress, \
            hush(quiet):  # read_once: the check and the run read each input file once; --quiet: no notices
        check_runnable(sc, scenario or DEFAULT_SCENARIO)  # the run repeats it (cheap) without the file's name
        result = run_scenario(sc, out_dir, progress=progress, finish=finish, cache=cache)
    from dctwin.results.summary_table import print_run_summary

    print_run_summary(result, out, err)


# ---------------------------------------------------------------- scenario
@scenario_app.command("show")
def scenario_show(scenario: str | None = SCENARIO_ARG,
                  as_json: bool = typer.Option(False, "--json", help="JSON instead of YAML.")) -> None:
    """Print the resolved scenario, every default filled in."""
    import yaml

    from dctwin.config import load_scenario

    data = load_scenario(scenario).model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


@scenario_app.command("validate")
def scenario_validate(scenario: str = typer.Argument(..., help="Scenario file or packaged name.")) -> None:
    """Check a scenario file; exit 0 when it is valid."""
    from dctwin.config import load_scenario
    from dctwin.config.runnable import check_runnable
    from dctwin.facility.peak import peak_messages
    from dctwin.facility.site_peak import scenario_peak_check
    from dctwin.safeio import read_once
    from dctwin.workload.checks import big_job_warnings, check_profiles

    sc = load_scenario(scenario)
    with read_once():  # each file the checks read (profiles, job table, site series) is read once
        check_profiles(sc)
        check_runnable(sc, scenario)  # what `run` refuses before its first stage, by the same function
        notes = _design_peak_lines(sc, scenario_peak_check, peak_messages) + big_job_warnings(sc)
        _print_site_warnings(sc)
        out.print(f"{scenario}: valid scenario '{sc.name}'")  # only once every check has passed
        for line in notes:
            err.print(f"{'' if line.startswith('note:') else 'warning: '}{line}", highlight=False, markup=False)


def _design_peak_lines(sc, scenario_peak_check, peak_messages) -> list[str]:
    """The design-day peak's warnings over the site's weather year, or over the run's own span when the site's
    files cover the run but not a year (the run accepts those: so does validate, and says so)."""
    try:
        return peak_messages(scenario_peak_check(sc))
    except InputError:
        hours = max(1, -(-sc.simulation.n_steps * sc.simulation.step_s // 3600))
        lines = peak_messages(scenario_peak_check(sc, hours=hours))  # the run's refusal, if it refuses too
    return [f"note: the site's series do not cover a year from the start: the design-day peak below is over the "
            f"run's {hours} h only"] + lines


def _print_site_warnings(sc) -> None:
    """Warn (stderr) about site data made for another country, zone or place (dctwin.site.provenance)."""
    from dctwin.site.provenance import site_warnings

    for w in site_warnings(sc.site):
        err.print(f"warning: {escape(w)}")


@scenario_app.command("list")
def scenario_list() -> None:
    """List the scenarios shipped with dctwin."""
    from dctwin.config import packaged_scenarios

    for name in packaged_scenarios():
        typer.echo(name)


@scenario_app.command("schema")
def scenario_schema(path: Path | None = typer.Option(None, "--out", "-o", help="Write to this file (.json)."),
                    force: bool = FORCE_OPTION) -> None:
    """Write the scenario JSON Schema (for editors that validate and complete YAML)."""
    from dctwin.config.schema import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if path is None:
        typer.echo(text, nl=False)
    else:
        from dctwin.safeout import write_output_text

        out.print(f"wrote {write_output_text(path, text, suffixes=('.json',), replace=force)}")


# ---------------------------------------------------------------- catalog
@catalog_app.command("list")
def catalog_list() -> None:
    """List the hardware catalog."""
    from dctwin.catalog import load_catalog

    table = Table()
    for col in ("id", "name", "kind", "GPUs", "FP8 PF/GPU", "HBM GB", "max kW", "liquid", "price kUSD"):
        table.add_column(col)
    seen = set()
    for p in load_catalog().values():
        if p.id in seen:
            continue
        seen.add(p.id)
        table.add_row(p.id, p.name, p.kind, str(p.gpus_per_unit), f"{p.fp8_dense_tflops / 1000:.1f}",
                      f"{p.hbm_gb:.0f}", f"{p.unit_max_kw:.1f}", f"{p.liquid_cooled_fraction:.0%}",
                      f"{p.price_usd / 1000:,.0f}")
    out.print(table)


@catalog_app.command("show")
def catalog_show(platform_id: str = typer.Argument(..., help="Catalog id, e.g. vr-nvl72.")) -> None:
    """Show one platform with the source of every number."""
    from dataclasses import asdict

    from dctwin.catalog import get_platform

    p = get_platform(platform_id)
    table = Table(title=f"{p.id}: {p.name}")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_column("source", overflow="fold")
    for name, value in asdict(p).items():
        if name in ("sources", "parts"):
            continue
        table.add_row(name, str(value), p.sources.get(name, ""))
    for part in p.parts:
        table.add_row(f"part: {part.name}", f"{part.count} x {part.idle_w:g}-{part.max_w:g} W",
                      p.sources.get(f"parts.{part.name}", ""))
    out.print(table)


# ---------------------------------------------------------------- results
@app.command()
def report(run_dir: Path = typer.Argument(..., help="A run directory."),
           png: bool = typer.Option(False, "--png", help="Also write figures/<name>.png of every figure, drawn "
                                    "from the report's own figures (needs dctwin[png] and Chromium; a few "
                                    "seconds).")) -> None:
    """Write report.html (and, with --png, figures/*.png) into a run directory."""
    from dctwin.report import write_report

    out.print(f"wrote {write_report(run_dir, png=png)}")


@app.command()
def compare(
    run_dirs: list[Path] = typer.Argument(..., help="Two or more run directories."),
    out_file: Path = typer.Option(Path("comparison.html"), "--out", "-o", help="HTML file to write."),
    force: bool = FORCE_OPTION,
) -> None:
    """Put runs side by side: KPI table with differences, overlaid figures."""
    from dctwin.report import write_comparison

    out.print(f"wrote {write_comparison(run_dirs, out_file, replace=force)}")


class QueryFormat(StrEnum):
    """``dctwin query --format``: any other value is refused with exit code 2."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def query(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    sql: str = typer.Argument(..., help="SQL over the run's tables (timeseries, monthly, jobs, ...)."),
    fmt: QueryFormat = typer.Option(QueryFormat.table, "--format", help="Output format."),
    timeout_s: float = typer.Option(60.0, "--timeout", help="Stop the command after this many seconds: checking "
                                    "the run, the query and writing its output [s]; exit code 2 at the limit."),
    memory_mb: int = typer.Option(1024, "--memory-mb", help="Memory limit of the query [MB]."),
) -> None:
    """Query a run's Parquet tables with DuckDB: one SELECT, read-only, no file or network access."""
    from dctwin.report import query as run_query
    from dctwin.report.query_out import Watchdog, write_result

    if not 0 < timeout_s <= 86_400:  # before the watchdog: a limit it cannot hold is refused, not run
        raise InputError("time limit out of range", field="--timeout", value=timeout_s, allowed="0 < s <= 86400")
    limit = (f"{run_dir}: query stopped after the {timeout_s:g} s time limit (--timeout covers checking the run, the "
             "query and writing its output; output written so far is incomplete)")
    with Watchdog(timeout_s, limit) as watchdog:
        frame = run_query(run_dir, sql, timeout_s=watchdog.remaining_s(), memory_mb=memory_mb)
        write_result(frame, fmt.value, sys.stdout.buffer)


@app.command()
def serve(
    runs_dir: Path = typer.Option(Path("runs"), "--runs", help="Folder of run directories."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind; anything but loopback needs --token."),
    port: int = typer.Option(8765, help="TCP port."),
    token: str | None = typer.Option(None, envvar="DCTWIN_TOKEN", help="API token (required off loopback)."),
    follow: str | None = typer.Option(None, help="Telemetry file or loopback endpoint to follow at /live."),
    mapping: Path | None = typer.Option(None, help="Mapping file of the followed telemetry."),
    live_scenario: str | None = typer.Option(None, help="Scenario (calibrated) whose model the live view uses."),
) -> None:
    """Start the web dashboard."""
    from dctwin.web import serve as serve_app

    live = None
    if follow is not None:
        from dctwin.config import load_scenario
        from dctwin.telemetry import read_mapping
        from dctwin.telemetry.live import LiveFollower

        if mapping is None:
            raise typer.BadParameter("--follow needs --mapping", param_hint="--mapping")
        live = LiveFollower(load_scenario(live_scenario), read_mapping(mapping), follow)
    serve_app(runs_dir, host=host, port=port, token=token, live=live)


@app.command()
def sweep(
    sweep_file: Path = typer.Argument(..., help="Sweep YAML: base scenario, axes, Monte Carlo repetitions."),
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Sweep folder (default sweeps/<name>)."),
    workers: int | None = typer.Option(None, "--workers", "-j", min=1, help="Local worker processes."),
    ray_address: str | None = typer.Option(None, "--ray", help="Run on the Ray cluster at this address."),
    fresh: bool = typer.Option(False, "--fresh", help="Forget finished runs in the folder and start over."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Run a sweep (grid x Monte Carlo); an interrupted sweep resumes where it stopped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dctwin.sweep import run_sweep

    show = not quiet and sys.stderr.isatty()
    with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
                  TimeRemainingColumn(), console=err, disable=not show) as bar:
        task = bar.add_task("runs", total=None, failed=0)

        def on_progress(p) -> None:
            bar.update(task, total=p.total, completed=p.done + p.failed, failed=p.failed)

        with hush(quiet):  # forked local workers inherit it
            outcome = run_sweep(sweep_file, out_dir, workers=workers, ray_address=ray_address, fresh=fresh,
                                on_progress=on_progress)
    out.print(f"{len(outcome.runs)} runs finished, {len(outcome.failed)} failed; results in {outcome.folder}")
    for run_id, message in sorted(outcome.failed.items()):
        err.print(f"failed {run_id}: {message}", highlight=False, markup=False)
    if outcome.missing:
        err.print(f"{len(outcome.missing)} planned runs have no result: {', '.join(outcome.missing[:20])}",
                  highlight=False, markup=False)
    if outcome.failed or outcome.missing:
        raise typer.Exit(1)


@app.command()
def validate(
    all_cases: bool = typer.Option(False, "--all", help="Include the slow cases."),
    case: list[str] | None = typer.Option(None, "--case", help="Run only this case id (repeatable)."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write the table as Markdown here."),
    cases_file: Path | None = typer.Option(None, "--cases", help="Cases YAML instead of the built-in ones."),
    force: bool = FORCE_OPTION,
) -> None:
    """Compare the twin with published figures; exit 1 when a case is outside its tolerance."""
    from dctwin.validate.report import validate_command

    code = validate_command(fast_only=not all_cases, case_ids=case or None, markdown_out=markdown,
                            cases_file=cases_file, console=out, replace=force)
    raise typer.Exit(code)


def _mount_plan() -> None:
    """``dctwin plan``: the planner's command, registered as one command (not a group)."""
    from dctwin.plan.cli import constraints_help
    from dctwin.plan.cli import main as plan_main

    # the constraints' field list needs the config models: built only when the plan command runs
    epilog = constraints_help() if sys.argv[1:2] == ["plan"] else None
    app.command("plan", help="Choose racks, cooling, heat pumps, PPA and redundancy under constraints.",
                epilog=epilog)(plan_main)


_mount_plan()
app.add_typer(__import__("dctwin.workload.cli", fromlist=["app"]).app, name="workload")
app.add_typer(__import__("dctwin.site.cli", fromlist=["app"]).app, name="site")
app.add_typer(__import__("dctwin.perf.cli", fromlist=["app"]).app, name="perf")


def _register_extensions() -> None:
    from dctwin.telemetry.cli import register as register_telemetry

    register_telemetry(app)


_register_extensions()


def _plain_help(typer_app: typer.Typer) -> None:
    """Help texts are shown as written: ``[m2]`` and ``[tCO2/year]`` are units, not rich markup."""
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


_plain_help(app)


def _say_interrupted() -> None:
    from dctwin.interrupt import exit_interrupted

    exit_interrupted(lambda text: err.print(text, highlight=False, markup=False))


def main() -> None:
    """Console entry point: the project's own errors become one line and exit code 2."""
    try:
        app()
    except DctwinError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _say_interrupted()  # exit 130 (dctwin.interrupt)
    except SystemExit as exc:  # typer turns Ctrl-C into a silent exit 130: say so, as above
        if exc.code == 130 and isinstance(getattr(exc.__context__, "__cause__", None), KeyboardInterrupt):
            _say_interrupted()
        raise
    finally:  # the command has finished (typer ends with SystemExit): only the interpreter's shutdown follows
        from dctwin.process import settle_for_exit

        settle_for_exit()
