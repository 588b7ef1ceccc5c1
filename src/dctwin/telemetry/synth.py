"""Synthetic telemetry made by dctwin itself, for recovery tests and benchmarks.

IT power per row follows a seeded daily cycle with slow random drift; the
facility model, run with chosen "true" parameters, gives the site and subsystem
meters; each meter then gets its measurement noise. Noise defaults follow meter
accuracy classes: the main meter +/-0.5 % (IEC 62053-22 class 0.5S), subsystem
meters +/-1 % (IEC 62053-21 class 1), written as one standard deviation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.rng import stream
from dctwin.telemetry.align import Telemetry
from dctwin.telemetry.calibrate import apply_parameters
from dctwin.telemetry.replay import ModelInputs, model_inputs, predict

__all__ = ["EXAMPLE_TRUTH", "example_mapping", "synthetic_telemetry"]

# the parameters `dctwin telemetry example` sets off their packaged values, for calibration to find
EXAMPLE_TRUTH = {"dry_cooler_fan": 0.028, "cdu_pump_head": 240.0, "facility_pump_head": 310.0, "ups_loss_scale": 1.6}
EXAMPLE_MAPPING_TEMPLATE = """# Which column of telemetry.csv is which dctwin quantity, in which unit
# (see docs/operating-twin.md).
step_s: {step_s}
max_gap_s: {max_gap_s}
series:
  it_power_kw: {source: "~it_row_\\\\d+_kw", unit: kW, aggregate: sum}   # 40 row meters, summed
  grid_power_kw: {source: grid_power_kw, unit: kW}
  cooling_power_kw: {source: cooling_power_kw, unit: kW}
  cdu_pump_kw: {source: cdu_pump_kw, unit: kW}
  facility_pump_kw: {source: facility_pump_kw, unit: kW}
  dry_cooler_fan_kw: {source: dry_cooler_fan_kw, unit: kW}
  ups_loss_kw: {source: ups_loss_kw, unit: kW}
  heat_pump_kw: {source: heat_pump_kw, unit: kW}
  heat_delivered_kw: {source: heat_delivered_kw, unit: kW}
  dry_bulb_c: {source: oat_c, unit: degC}
  rel_humidity_pct: {source: rh_pct, unit: "%"}
"""


def example_mapping(step_s: int = 300) -> str:
    """The mapping file of ``synthetic_telemetry``'s wide table at ``step_s`` [s]."""
    return (EXAMPLE_MAPPING_TEMPLATE.replace("{step_s}", str(step_s))
            .replace("{max_gap_s}", str(3 * step_s)))

MAIN_METER_SIGMA = 0.005
SUBMETER_SIGMA = 0.01
METERED = ("grid_power_kw", "cooling_power_kw", "cdu_pump_kw", "facility_pump_kw", "dry_cooler_fan_kw",
           "ups_loss_kw", "heat_pump_kw", "heat_delivered_kw")


def _it_rows_kw(n: int, step_s: int, rows: int, installed_kw: float, rng) -> np.ndarray:
    hours = np.arange(n) * step_s / 3600.0
    daily = 0.08 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)
    walk = np.cumsum(rng.normal(0.0, 0.02 * np.sqrt(step_s / 3600.0), size=(rows, n)), axis=1)
    walk -= np.linspace(0, 1, n) * walk[:, -1:]  # a bridge: stays bounded over any span
    util = np.clip(0.72 + daily + 0.6 * walk / max(np.sqrt(n * step_s / 3600.0) * 0.02, 1.0), 0.2, 0.98)
    return util * installed_kw / rows


def synthetic_telemetry(scenario: Scenario, start_utc: str, days: float, step_s: int, truth: dict[str, float],
                        seed: int = 7, rows: int = 40) -> tuple[pd.DataFrame, ModelInputs]:
    """A wide table (time in UTC, it_row_01_kw.., meters [kW], oat_c, rh_pct) and the model inputs behind it."""
    rng = stream(seed, "synthetic-telemetry")
    n = int(round(days * 86400 / step_s))
    time = pd.Series(pd.date_range(pd.Timestamp(start_utc, tz="UTC"), periods=n, freq=f"{step_s}s"))
    frame = pd.DataFrame({"time": time, "it_power_kw": np.zeros(n)})
    probe = Telemetry(frame, step_s, pd.DataFrame(), ())
    inputs = model_inputs(scenario, probe)
    per_row = _it_rows_kw(n, step_s, rows, inputs.installed_it_kw, rng)
    it = per_row.sum(axis=0)
    inputs = type(inputs)(**{**inputs.__dict__, "it_power_kw": it, "measured_mask": np.ones(n, dtype=bool)})
    true_sc = apply_parameters(scenario, truth) if truth else scenario
    pred = predict(true_sc, inputs)
    table = {"time": time.dt.strftime("%Y-%m-%dT%H:%M:%SZ")}
    for i in range(rows):
        table[f"it_row_{i + 1:02d}_kw"] = np.round(per_row[i] * (1 + rng.normal(0, SUBMETER_SIGMA, n)), 3)
    for name in METERED:
        sigma = MAIN_METER_SIGMA if name == "grid_power_kw" else SUBMETER_SIGMA
        table[name] = np.round(pred[name].to_numpy() * (1 + rng.normal(0, sigma, n)), 3)
    table["oat_c"] = np.round(inputs.dry_bulb_c + rng.normal(0, 0.2, n), 2)
    table["rh_pct"] = np.round(np.clip(inputs.rel_humidity_pct + rng.normal(0, 1.0, n), 0, 100), 1)
    return pd.DataFrame(table), inputs
