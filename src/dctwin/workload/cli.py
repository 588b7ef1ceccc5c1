"""``dctwin workload fit TRACE``: fit a workload profile to a job log, print the goodness of fit, draw a figure."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Workload profiles fitted to job logs.", no_args_is_help=True)


def _table(report: dict) -> Table:
    t = Table(title="Run time \\[s]: log vs fitted profile")
    for col in ("class", "jobs", "KS [-]", "p50 log", "p50 fit", "p90 log", "p90 fit", "p99 log", "p99 fit",
                "mean log", "mean fit"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for r in report["rows"]:
        lg, md = r["log"], r["model"]
        t.add_row(r["class"], f"{r['jobs']:,}", f"{r['ks']:.3f}",
                  *[f"{v:,.0f}" for k in ("p50", "p90", "p99", "mean") for v in (lg[k], md[k])])
    return t


def _hours(report: dict) -> Table:
    t = Table(title="Jobs submitted per hour of day \\[1/h]: log vs profile (one draw over the log's span)")
    t.add_column("hour [h]")
    t.add_column("log", justify="right")
    t.add_column("profile", justify="right")
    for h in range(24):
        t.add_row(f"{h:02d}", f"{report['hour_log'][h]:.2f}", f"{report['hour_model'][h]:.2f}")
    return t


_YAML = (".yaml", ".yml")


def _is_request_log(path: Path) -> bool:
    from dctwin.errors import InputError
    from dctwin.workload.traces import open_input

    try:
        head = {c.strip().lower() for c in open_input(path).readline().decode("utf-8", "replace").split(",")}
    except (OSError, EOFError, InputError):
        return False
    return {"timestamp", "contexttokens"} <= head or {"timestamp", "requests"} <= head


def _fit_requests(trace: Path, out_path: Path | None, console: Console, replace: bool) -> None:
    """Inference profile of a request or QPS log: rate, shape, bursts, token mixes."""
    import yaml

    from dctwin.safeout import write_output_text
    from dctwin.workload.inference_fit import fit_inference_profile

    doc = fit_inference_profile(trace)
    for note in doc["notes"]:
        console.print(f"note: {note}", markup=False, highlight=False)
    t = Table(title="Tokens per request: log vs fitted log-normal mixture")
    for col in ("tokens", "components", "p50 log", "p50 fit", "p90 log", "p90 fit", "mean log", "mean fit"):
        t.add_column(col, justify="left" if col == "tokens" else "right")
    for name, m in (doc["tokens"] or {}).items():
        t.add_row(name, str(len(m["weights"])), *[f"{m[s][k]:,.0f}" for k in ("p50", "p90", "mean")
                                                  for s in ("log", "model")])
    console.print(t)
    dest = write_output_text(out_path or trace.with_name(trace.name.split(".")[0] + ".inference.yaml"),
                             yaml.safe_dump(doc, sort_keys=False, width=120), suffixes=_YAML, replace=replace)
    console.print(f"{doc['requests_per_s']:.3f} requests/s over {doc['source']['span_h']:.2f} h; peak-to-trough "
                  f"{doc['peak_to_trough'] or 'not fitted'}; profile: {dest}", markup=False, highlight=False)


@app.command("fit")
def fit(
    trace: Path = typer.Argument(..., help="Job log: a job table, openb pod list, Helios/Acme CSV, Philly JSON "
                                 "or SWF."),
    fmt: str = typer.Option("auto", "--format", help="jobtable, openb, slurm_csv, philly, swf, requests, or auto."),
    out_path: Path | None = typer.Option(None, "--out", "-o",
                                         help="Profile file to write [default: TRACE.profile.yaml]."),
    figure: Path | None = typer.Option(None, "--figure", help="Comparison figure (PNG) [default: beside the profile]."),
    procs_per_gpu: int = typer.Option(1, min=1, help="SWF only: processors counted as one GPU."),
    hours: bool = typer.Option(False, "--hours", help="Also print arrivals by hour of day."),
    force: bool = typer.Option(False, "--force", help="Replace the profile and figure if they exist (else refused)."),
) -> None:
    """Fit arrivals, GPUs per job, run time per size class, states and tenants; write a profile a scenario names."""
    import yaml

    from dctwin.safeio import read_once
    from dctwin.safeout import check_output_file, write_output_text
    from dctwin.workload.formats import read_trace
    from dctwin.workload.goodness import fit_report, write_figure
    from dctwin.workload.profile import fit_profile

    console = Console(width=160)
    with read_once():  # the log is opened once: what is parsed is what the profile's SHA-256 names
        if fmt in ("auto", "requests") and _is_request_log(trace):
            _fit_requests(trace, out_path, console, force)
            return
        # outputs checked before the fit: never into a run, a folder, an unknown type or over a file (the trace)
        dest = check_output_file(out_path or trace.with_name(trace.name.split(".")[0] + ".profile.yaml"),
                                 suffixes=_YAML, replace=force)
        figure = check_output_file(figure or dest.with_suffix(".png"), "--figure", suffixes=(".png",), replace=force)
        log = read_trace(trace, fmt, procs_per_gpu=procs_per_gpu)
        profile = fit_profile(log)
    for note in profile["notes"]:
        console.print(f"note: {note}", markup=False, highlight=False)
    report = fit_report(log, profile)
    profile["goodness_of_fit"] = [{"class": r["class"], "jobs": r["jobs"], "ks": round(r["ks"], 4),
                                   **{f"{k}_log_s": round(r["log"][k], 2) for k in ("p50", "p90", "p99", "mean")},
                                   **{f"{k}_fit_s": round(r["model"][k], 2) for k in ("p50", "p90", "p99", "mean")}}
                                  for r in report["rows"]]
    dest = write_output_text(dest, yaml.safe_dump(profile, sort_keys=False, width=120), suffixes=_YAML,
                             replace=force)
    console.print(_table(report))
    if hours:
        console.print(_hours(report))
    fig = write_figure(log, profile, report, check_output_file(figure, "--figure", replace=force))
    console.print(f"{len(log.jobs):,} jobs ({log.format}); profile: {dest}; figure: {fig}", markup=False,
                  highlight=False)
