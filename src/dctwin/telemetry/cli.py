"""``dctwin replay``, ``dctwin calibrate`` and ``dctwin telemetry check``: the operating twin on the command line."""

from __future__ import annotations

import os
from pathlib import Path

import typer

__all__ = ["register"]

_TELEMETRY = typer.Argument(..., help="Telemetry files: CSV/Parquet (wide or long), Prometheus text or range JSON.")
_MAPPING = typer.Option(..., "--mapping", "-m", help="Mapping file: which series is which quantity, in which unit.")


def _console():
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160), Console(stderr=True)


def _pct(value: float, signed: bool = False) -> str:
    if value != value:  # NaN: too few full hours or months to say
        return "n/a"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _print_quality(console, quality) -> None:
    from rich.markup import escape
    from rich.table import Table

    if quality.empty:
        console.print("telemetry quality: no repairs were needed")
        return
    table = Table(title="telemetry quality: every repair and fallback")
    for col, justify in (("quantity", "left"), ("series", "left"), ("issue", "left"), ("count", "right"),
                         ("detail", "left")):
        table.add_column(col, justify=justify)
    for _, r in quality.iterrows():
        table.add_row(escape(str(r["quantity"])), escape(str(r["series"])[:60]), escape(str(r["issue"])),
                      f"{int(r['count']):,}", escape(str(r["detail"])))
    console.print(table)


def _print_fit(console, fit) -> None:
    import pandas as pd
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="measured vs model (ASHRAE Guideline 14: hourly CV(RMSE) <= 30 %, |NMBE| <= 10 %)")
    for col in ("quantity", "hourly CV(RMSE) [%]", "hourly NMBE [%]", "monthly CV(RMSE) [%]", "monthly NMBE [%]",
                "meets hourly"):
        table.add_column(escape(col), justify="left" if col == "quantity" else "right")
    for _, r in fit.iterrows():
        table.add_row(r["quantity"], _pct(r["hourly_cv_rmse_pct"]), _pct(r["hourly_nmbe_pct"], True),
                      _pct(r["monthly_cv_rmse_pct"]), _pct(r["monthly_nmbe_pct"], True),
                      "n/a" if r["hourly_meets_guideline14"] is pd.NA else
                      ("yes" if r["hourly_meets_guideline14"] else "no"))
    console.print(table)


def _base_ref(scenario: str, out_file: Path) -> str:
    from dctwin.config import packaged_scenarios

    if scenario in packaged_scenarios():
        return scenario
    return os.path.relpath(Path(scenario).resolve(), Path(out_file).resolve().parent)


telemetry_app = typer.Typer(help="Measured telemetry: read, align and check it.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the operating-twin commands to the ``dctwin`` app."""
    app.add_typer(telemetry_app, name="telemetry")
    app.command()(replay)
    app.command()(calibrate)

@telemetry_app.command("check")
def check(telemetry: list[Path] = _TELEMETRY, mapping: Path = _MAPPING) -> None:
    """Read and align telemetry; print every repair (sorting, duplicates, resets, gaps, clock offsets)."""
    from dctwin.telemetry import read_telemetry

    out, _ = _console()
    tel = read_telemetry(telemetry, mapping)
    out.print(f"{len(tel.frame):,} steps of {tel.step_s} s from {tel.frame['time'].iloc[0]} to "
              f"{tel.frame['time'].iloc[-1]}; quantities: {', '.join(c for c in tel.frame.columns if c != 'time')}")
    _print_quality(out, tel.quality)

def _check_time(text: str, field: str) -> None:
    """An ISO 8601 time (UTC when it has no offset), or InputError."""
    import pandas as pd

    from dctwin.errors import InputError

    try:
        pd.Timestamp(text)
    except (ValueError, TypeError):
        raise InputError("not an ISO 8601 time", field=field, value=text, allowed="e.g. 2027-07-05T00:00:00Z") from None


@telemetry_app.command("example")
def example(out_dir: Path = typer.Option(..., "--out", "-o", help="Folder to create (must not exist)."),
            days: float = typer.Option(14.0, min=1.0, max=366.0, help="Span [days]."),
            start: str = typer.Option("2027-07-05T00:00:00Z", help="First step (UTC, ISO 8601)."),
            scenario: str = typer.Option("borlange-2027", help="Scenario whose model makes the data.")) -> None:
    """Write synthetic telemetry (5-min steps, 40 IT rows, 8 meters, weather) and its mapping file.

    The data come from the model itself with known parameters (fans, pump heads and UPS loss set off their
    packaged values) and meter noise, so `dctwin calibrate` on them shows what it recovers.
    """
    from dctwin.config import load_scenario
    from dctwin.safeout import check_new_folder, staged_folder
    from dctwin.telemetry.synth import EXAMPLE_TRUTH, example_mapping, synthetic_telemetry

    out, _ = _console()
    if out_dir.exists():  # before the work; staged_folder checks again (and that the path is not in a run)
        check_new_folder(out_dir)
    _check_time(start, "start")
    wide, _ = synthetic_telemetry(load_scenario(scenario), start, days, 300, EXAMPLE_TRUTH)
    with staged_folder(out_dir) as stage:  # Ctrl-C while writing leaves no half-written folder
        wide.to_csv(stage / "telemetry.csv", index=False)
        (stage / "mapping.yaml").write_text(example_mapping(300), encoding="utf-8")
    truth = ", ".join(f"{k} = {v:g}" for k, v in EXAMPLE_TRUTH.items())
    out.print(f"wrote {out_dir / 'telemetry.csv'} ({len(wide):,} rows) and {out_dir / 'mapping.yaml'}; "
              f"true parameters: {truth}")

@telemetry_app.command("gpu-check")
def gpu_check(telemetry: list[Path] = _TELEMETRY, mapping: Path = _MAPPING,
              hosts: str = typer.Option(..., help="Comma-separated hosts, one GPU each (values of --label)."),
              split: str = typer.Option(..., help="Start of the held-out check (ISO 8601 with offset); the "
                                                  "GPUs are fitted on the steps before it."),
              label: str = typer.Option("host", help="Label that names the host of each series."),
              packaged: str = typer.Option("hgx-h100", help="Catalog platform whose GPU is the uncalibrated "
                                                            "comparison.")) -> None:
    """Check dctwin's GPU power model against measured GPU power and utilisation (telemetry without facility
    meters): each GPU's idle and maximum power are fitted before --split and checked after it."""
    import pandas as pd

    from dctwin.catalog import get_platform
    from dctwin.errors import InputError
    from dctwin.telemetry.itside import itside_check

    out, _ = _console()
    try:
        split_utc = pd.Timestamp(split)
    except ValueError:
        raise InputError("not an ISO 8601 time", field="split", value=split) from None
    if split_utc.tzinfo is None:
        raise InputError("the split needs an offset (Z for UTC)", field="split", value=split)
    gpu = get_platform(packaged)
    names = tuple(h.strip() for h in hosts.split(",") if h.strip())
    if not names or len(set(names)) != len(names):
        raise InputError("give each host once", field="hosts", value=hosts, allowed="comma-separated host names")
    result = itside_check(telemetry, mapping, names, split_utc.tz_convert("UTC"), (gpu.gpu_idle_w, gpu.gpu_max_w),
                          label)
    _print_gpu_check(out, result, gpu.gpu_name)


def _print_gpu_check(console, result, packaged_gpu: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    gpus = Table(title="GPU idle and maximum power fitted on the calibration steps")
    for col in ("host", "idle [W]", "max [W]", "hours [count]"):
        gpus.add_column(escape(col), justify="left" if col == "host" else "right")
    for _, r in result.gpus.iterrows():
        gpus.add_row(escape(r["host"]), f"{r['idle_w']:.1f} +/- {r['idle_std_w']:.1f}",
                     f"{r['max_w']:.1f} +/- {r['max_std_w']:.1f}", f"{r['calibration_hours']:,}")
    console.print(gpus)
    errors = Table(title="summed GPU power, model against measured (ASHRAE Guideline 14 hourly: 30 %, 10 %)")
    for col in ("period", "GPU figures", "hours [count]", "CV(RMSE) [%]", "NMBE [%]"):
        errors.add_column(escape(col), justify="left" if col in ("period", "GPU figures") else "right")
    for _, r in result.errors.iterrows():
        model = "fitted" if r["model"] == "calibrated" else f"packaged {packaged_gpu}"
        errors.add_row(r["period"] + (" (held out)" if r["period"] == "check" else ""), escape(model),
                       f"{r['hours']:,}", _pct(r["cv_rmse_pct"]), _pct(r["nmbe_pct"], True))
    console.print(errors)


def replay(scenario: str = typer.Argument(..., help="Scenario file or packaged name: the site's design."),
           telemetry: list[Path] = _TELEMETRY, mapping: Path = _MAPPING,
           out_dir: Path = typer.Option(..., "--out", "-o", help="Run directory to create (must not exist)."),
           drift_threshold_pct: float = typer.Option(5.0, min=0.1, max=100.0,
                                                     help="Flag drift beyond this deviation [%]."),
           drift_window_h: float = typer.Option(24.0, min=1.0, max=24 * 90,
                                                help="Rolling window of the drift check [h].")) -> None:
    """Drive the facility model with measured IT power and weather; write predicted vs measured."""
    from dctwin.config import load_scenario
    from dctwin.safeout import check_new_run_dir
    from dctwin.telemetry import read_telemetry
    from dctwin.telemetry.service import replay_telemetry, write_replay_dir

    out, _ = _console()
    check_new_run_dir(out_dir)  # before the replay: new, writable, not inside a finished run
    sc = load_scenario(scenario)
    tel = read_telemetry(telemetry, mapping)
    result = replay_telemetry(sc, tel, drift_threshold_pct=drift_threshold_pct, drift_window_h=drift_window_h)
    path = write_replay_dir(out_dir, sc, tel, result)
    _print_quality(out, result.quality)
    _print_fit(out, result.fit)
    if result.fit.empty:
        out.print("no facility meter in the telemetry: the model's facility figures are not compared with anything")
    pue = {k: "n/a" if result.kpis[k] is None else f"{result.kpis[k]:.3f}" for k in ("pue_measured", "pue_predicted")}
    out.print(f"PUE measured {pue['pue_measured']}, model {pue['pue_predicted']}; "
              f"{len(result.drift)} drift period(s) beyond {drift_threshold_pct:g} %")
    out.print(f"results: {path}")

def calibrate(scenario: str = typer.Argument(..., help="Scenario file or packaged name: the site's design."),
              telemetry: list[Path] = _TELEMETRY, mapping: Path = _MAPPING,
              params: str = typer.Option("dry_cooler_fan,cdu_pump_head,facility_pump_head,ups_loss_scale",
                                         help="Comma-separated parameters to fit (see --list-params)."),
              out_file: Path = typer.Option(..., "--out", "-o", help="Calibrated scenario file to write."),
              replay_out: Path | None = typer.Option(None, help="Also replay the calibrated model into this run "
                                                                "directory."),
              force: bool = typer.Option(False, "--force", help="Replace the scenario file if it exists.")) -> None:
    """Fit facility parameters to measured power; write a calibrated scenario with each value's uncertainty."""
    from dctwin.config import load_scenario
    from dctwin.errors import InputError
    from dctwin.safeout import check_new_run_dir, check_output_file
    from dctwin.telemetry import read_telemetry
    from dctwin.telemetry.service import (
        calibrate_telemetry,
        replay_telemetry,
        write_calibrated_scenario,
        write_replay_dir,
    )

    out, _ = _console()
    check_output_file(out_file, suffixes=(".yaml", ".yml"), replace=force)  # before the fit: never into a run
    if replay_out is not None:
        check_new_run_dir(replay_out, field="--replay-out")
    sc = load_scenario(scenario)
    tel = read_telemetry(telemetry, mapping)
    names = [n.strip() for n in params.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise InputError("give each parameter once", field="params", value=params)
    result = calibrate_telemetry(sc, tel, names)
    write_calibrated_scenario(out_file, _base_ref(scenario, out_file), result, replace=force)
    _print_calibration(out, result)
    if replay_out is not None:
        rep = replay_telemetry(result.scenario, tel)
        write_replay_dir(replay_out, result.scenario, tel, rep, calibration=result)
        _print_fit(out, rep.fit)
        out.print(f"replay of the calibrated model: {replay_out}")
    out.print(f"calibrated scenario: {out_file}")


def _print_calibration(console, result) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"calibration: {result.n_evaluations} model runs, cost {result.cost_initial:.4g} -> "
                        f"{result.cost_final:.4g}")
    for col in ("parameter", "unit", "initial", "fitted", "std. uncertainty", "95 % interval", "note"):
        table.add_column(escape(col), justify="left" if col in ("parameter", "unit", "note") else "right")
    for _, r in result.table.iterrows():
        note = "not identifiable" if not r["identifiable"] else ("at a bound" if r["at_bound"] else "")
        table.add_row(escape(r["name"]), escape(r["unit"]), f"{r['initial']:.4g}", f"{r['fitted']:.4g}",
                      f"{r['std']:.3g}", f"{r['ci95_low']:.4g} .. {r['ci95_high']:.4g}", note)
    console.print(table)
