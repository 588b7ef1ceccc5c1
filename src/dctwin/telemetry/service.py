"""The operating twin's commands as functions: replay into a run directory, calibrate into a scenario file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.telemetry.align import Telemetry
from dctwin.telemetry.calibrate import CalibrationResult, calibrate
from dctwin.telemetry.drift import drift_periods
from dctwin.telemetry.metrics import fit_table
from dctwin.telemetry.replay import measured_outputs, model_inputs, predict, replay_table

__all__ = ["ReplayResult", "calibrate_telemetry", "replay_telemetry", "write_calibrated_scenario",
           "write_replay_dir"]


@dataclass(frozen=True)
class ReplayResult:
    table: pd.DataFrame  # measured, predicted and residual side by side
    fit: pd.DataFrame  # ASHRAE Guideline 14 statistics per measured output
    drift: pd.DataFrame  # flagged periods
    quality: pd.DataFrame  # every repair of the telemetry and every input taken from the scenario
    kpis: dict


def _side(table: pd.DataFrame, prefix: str, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"time": table["time"], **{q: table[f"{prefix}_{q}"] for q in names}})


def _energy_pue(table: pd.DataFrame, prefix: str, metered: bool) -> float | None:
    """Energy-weighted PUE over the steps where the site meter (if any), the IT power and the model all have a
    value; None where it cannot be formed (no site meter, or no IT energy)."""
    col = f"{prefix}_grid_power_kw"
    if col not in table or ("measured_grid_power_kw" not in table and metered):
        return None
    both = table[col].notna() & table["it_power_kw"].notna() & table["predicted_grid_power_kw"].notna()
    if "measured_grid_power_kw" in table:
        both &= table["measured_grid_power_kw"].notna()
    it = table.loc[both, "it_power_kw"].sum()
    return float(table.loc[both, col].sum() / it) if it > 0 else None


def replay_telemetry(scenario: Scenario, telemetry: Telemetry, *, drift_threshold_pct: float = 5.0,
                     drift_window_h: float = 24.0) -> ReplayResult:
    """Drive the facility with the measured IT power and weather; compare with every measured output."""
    inputs = model_inputs(scenario, telemetry)
    table = replay_table(telemetry, inputs, predict(scenario, inputs))
    names = measured_outputs(telemetry)
    fit = fit_table(_side(table, "measured", names), _side(table, "predicted", names))
    drift = drift_periods(table, names, telemetry.step_s, window_h=drift_window_h, threshold_pct=drift_threshold_pct,
                          min_hours=drift_window_h)
    fallback_rows = [{"quantity": f.split(" ")[0], "series": "", "issue": "from_scenario", "count": 1,
                      "detail": f"{f}: taken from the scenario's site series"} for f in inputs.fallbacks]
    quality = pd.concat([telemetry.quality, pd.DataFrame(fallback_rows, columns=telemetry.quality.columns)],
                        ignore_index=True) if fallback_rows else telemetry.quality
    throttled = np.nansum(np.where(inputs.measured_mask, inputs.it_power_kw - table["model_it_power_kw"], 0.0))
    kpis = {
        "steps": len(table), "step_s": telemetry.step_s,
        "measured_steps": int(inputs.measured_mask.sum()),
        "it_energy_mwh": float(np.nansum(table["it_power_kw"]) * telemetry.step_s / 3.6e6),
        "pue_measured": _energy_pue(table, "measured", True), "pue_predicted": _energy_pue(table, "predicted", False),
        "model_throttled_it_mwh": float(throttled * telemetry.step_s / 3.6e6),
        "drift_periods": len(drift), "drift_threshold_pct": drift_threshold_pct, "drift_window_h": drift_window_h,
    }
    for _, row in fit.iterrows():
        for col in ("hourly_cv_rmse_pct", "hourly_nmbe_pct", "hourly_meets_guideline14"):
            value = row[col]
            value = None if value is pd.NA else (value.item() if hasattr(value, "item") else value)
            # NaN: too few full hours to compute it (one 5-min sample crashed writing kpis.json): null, as judged
            kpis[f"{row['quantity']}_{col}"] = None if isinstance(value, float) and not np.isfinite(value) else value
    return ReplayResult(table, fit, drift, quality, kpis)


def write_replay_dir(out_dir: Path, scenario: Scenario, telemetry: Telemetry, result: ReplayResult,
                     calibration: CalibrationResult | None = None) -> Path:
    """An atomic run directory: replay, fit, drift, quality and telemetry tables; kpis.json; manifest.json."""
    from dctwin import __version__
    from dctwin.results.run_dir import write_run_dir

    tables = {"replay": result.table, "fit": result.fit, "drift": result.drift, "quality": result.quality,
              "telemetry": telemetry.frame}
    if calibration is not None:
        tables["calibration"] = calibration.table
    manifest = {"kind": "replay", "dctwin_version": __version__, "scenario_name": scenario.name,
                "step_s": telemetry.step_s, "n_steps": len(telemetry.frame),
                "telemetry_sources": list(telemetry.sources), "scenario": scenario.model_dump(mode="json")}
    from dctwin.results.timing import TIMING, timing_text
    from dctwin.telemetry.report import context_from_tables, replay_report_html

    html = replay_report_html(context_from_tables(Path(out_dir).name, manifest, result.kpis, tables))
    written = {"started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # the one unreproducible file
    return write_run_dir(out_dir, tables, result.kpis, manifest, texts={"report.html": html},
                         unsealed={TIMING: timing_text(written)})


def calibrate_telemetry(scenario: Scenario, telemetry: Telemetry, names: list[str],
                        max_points: int = 40_000) -> CalibrationResult:
    """Fit ``names`` to every measured facility output in ``telemetry``."""
    inputs = model_inputs(scenario, telemetry)
    return calibrate(scenario, inputs, telemetry.frame, names, measured_outputs(telemetry), max_points=max_points)


def write_calibrated_scenario(path: Path, base_ref: str, result: CalibrationResult, replace: bool = False) -> Path:
    """A scenario file that extends ``base_ref`` with the fitted values, each commented with its uncertainty
    (written whole, never into a run or over a file unless ``replace``: dctwin.safeout)."""
    import yaml

    from dctwin.telemetry.calibrate import PARAMETERS

    base = result.scenario.model_dump(mode="json")
    doc: dict = {"extends": base_ref, "name": f"{result.scenario.name}-calibrated", "facility": {}}
    fac = base["facility"]
    for name in result.table["name"]:
        read = {"liquid_supply_temp_c": fac["cooling"]["liquid_supply_temp_c"]}  # the approach's writer reads it
        probe: dict = {"facility": {"power_chain": dict(fac["power_chain"]), "cooling": dict(read), "heat_reuse": {}}}
        PARAMETERS[name].write(probe, float(result.table.set_index("name").loc[name, "fitted"]))
        for section, values in probe["facility"].items():
            if section == "power_chain":
                values = {k: v for k, v in values.items() if v != fac["power_chain"].get(k)}
            if section == "cooling":  # what was only there to be read stays out
                values = {k: v for k, v in values.items() if k not in read or v != read[k]}
            if values:
                doc["facility"].setdefault(section, {}).update(values)
    lines = [f"# Calibrated by dctwin {_version()} against telemetry; fitted value +/- 1 standard error:"]
    for _, r in result.table.iterrows():
        lines.append(f"#   {r['name']}: {r['fitted']:.6g} +/- {r['std']:.3g} {r['unit']} ({r['label']})"
                     + ("" if r["identifiable"] else "  NOT identifiable from these measurements"))
    text = "\n".join(lines) + "\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    from dctwin.safeout import write_output_text

    return write_output_text(path, text, suffixes=(".yaml", ".yml"), replace=replace)


def _version() -> str:
    from dctwin import __version__

    return __version__
