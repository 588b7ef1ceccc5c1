"""Calibration: fit chosen facility parameters to measured power with scipy's least_squares.

Each parameter is a scenario field or a packaged model parameter (written to
``facility.model_parameters``). The model is steady state per step, so the fit
runs on at most ``max_points`` evenly spaced measured steps at the telemetry's own
resolution (averaging inputs first would bias every nonlinear part, such as the
cube-law fans), weighting every measured output series by its own mean so a
small meter counts as much as the site's main meter. The uncertainty of each fitted
value is the square root of the diagonal of s^2 (J^T J)^-1 at the optimum, s^2
the residual variance (the usual linearised covariance of nonlinear least squares).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.errors import InputError
from dctwin.telemetry.replay import ModelInputs, predict

__all__ = ["PARAMETERS", "CalibrationResult", "Parameter", "apply_parameters", "calibrate"]


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    unit: str
    low: float
    high: float
    read: Callable[[Scenario], float]
    write: Callable[[dict, float], None]  # sets the value in a scenario dict (model_dump form)


def _model_key(doc: dict, key: str, value) -> None:
    doc["facility"].setdefault("model_parameters", {})[key] = value


def _packaged(key: str):
    from dctwin.facility.params import load_params

    name, *path = key.split(".")
    node = load_params(name)
    for part in path:
        node = node[part]
    return node


def _model_param(name, label, unit, key, low, high) -> Parameter:
    def read(sc: Scenario) -> float:
        return float(sc.facility.model_parameters.get(key, _packaged(key)))

    return Parameter(name, label, unit, low, high, read, lambda doc, v: _model_key(doc, key, float(v)))


def _ups_key(sc_or_doc) -> str:
    mode = sc_or_doc.facility.power_chain.ups_mode if isinstance(sc_or_doc, Scenario) \
        else sc_or_doc["facility"]["power_chain"]["ups_mode"]
    return f"power_chain.ups.{'eco_eff' if mode == 'eco' else 'double_conversion_eff'}"


def _ups_read(sc: Scenario) -> float:
    key = _ups_key(sc)
    cur, base = sc.facility.model_parameters.get(key), _packaged(key)
    return 1.0 if cur is None else float(np.mean((1.0 - np.asarray(cur)) / (1.0 - np.asarray(base))))


def _ups_write(doc: dict, scale: float) -> None:
    key = _ups_key(doc)
    _model_key(doc, key, [float(1.0 - scale * (1.0 - e)) for e in _packaged(key)])


def _field(path: str):
    parts = path.split(".")

    def read(sc: Scenario) -> float:
        node = sc
        for p in parts:
            node = getattr(node, p)
        return float(node)

    def write(doc: dict, value: float) -> None:
        node = doc
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = float(value)

    return read, write


def _approach_read(sc: Scenario) -> float:
    c = sc.facility.cooling
    return float(c.liquid_supply_temp_c - c.design_ambient_c)


def _approach_write(doc: dict, approach_k: float) -> None:
    """The approach acts through the design ambient the dry coolers are sized at (supply minus approach)."""
    c = doc["facility"]["cooling"]
    c["design_ambient_c"] = float(c["liquid_supply_temp_c"]) - float(approach_k)
    c["dry_cooler_approach_k"] = None


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    _model_param("dry_cooler_fan", "dry-cooler fan power per kW of heat at design", "kW/kW",
                 "cooling.values.dry_cooler_fan_kw_per_kw", 0.002, 0.1),
    _model_param("cdu_pump_head", "CDU (secondary) loop head at design flow", "kPa",
                 "cooling.values.cdu_loop_head_kpa", 30.0, 1500.0),
    _model_param("facility_pump_head", "facility-water loop head at design flow", "kPa",
                 "cooling.values.facility_loop_head_kpa", 30.0, 1500.0),
    _model_param("chiller_carnot_fraction", "chiller efficiency as a fraction of Carnot", "-",
                 "cooling.values.chiller_carnot_fraction", 0.15, 0.85),
    _model_param("distribution_loss", "busway and PDU loss at rated current", "-",
                 "power_chain.stages.distribution.load", 0.001, 0.06),
    Parameter("ups_loss_scale", "UPS loss as a multiple of the packaged efficiency curve's loss", "-", 0.1, 6.0,
              _ups_read, _ups_write),
    Parameter("dry_cooler_approach", "dry-cooler approach at design (sets its size)", "K", 2.0, 30.0,
              _approach_read, _approach_write),
    Parameter("heat_pump_carnot_fraction", "heat-pump efficiency as a fraction of Carnot", "-", 0.2, 0.8,
              *_field("facility.heat_reuse.carnot_fraction")),
)}


def apply_parameters(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """``scenario`` with the named parameters set to ``values``."""
    from dctwin.config.load import scenario_from_dict

    doc = scenario.model_dump(mode="json")
    for name, value in values.items():
        PARAMETERS[name].write(doc, value)
    return scenario_from_dict(doc, source="<calibration>")


@dataclass(frozen=True)
class CalibrationResult:
    table: pd.DataFrame  # name, label, unit, initial, fitted, std, ci95_low, ci95_high, identifiable
    scenario: Scenario
    cost_initial: float
    cost_final: float
    n_evaluations: int
    targets: tuple[str, ...]


def _residual_fn(scenario, names, inputs: ModelInputs, measured: pd.DataFrame, targets):
    mask = inputs.measured_mask
    weights = {t: 1.0 / np.nanmean(measured[t].to_numpy(float)[mask]) for t in targets}
    keep = {t: mask & np.isfinite(measured[t].to_numpy(float)) for t in targets}

    def residuals(x: np.ndarray) -> np.ndarray:
        sc = apply_parameters(scenario, dict(zip(names, x, strict=True)))
        pred = predict(sc, inputs)
        parts = [(pred[t].to_numpy(float) - measured[t].to_numpy(float))[keep[t]] * weights[t] for t in targets]
        return np.concatenate(parts)

    return residuals


JACKKNIFE_GROUPS = 8
# Standard uncertainty of the measured inputs that drive the model (GUM type B): a systematic error of
# the IT meters (IEC 62053-22 accuracy class 0.5S: +/-0.5 %) and of the outdoor temperature sensor
# (IEC 60751 class A Pt100: +/-(0.15 + 0.002 |t|) K, about 0.2 K). The fit is repeated with each input
# shifted by its uncertainty; the change of every parameter is an uncertainty component.
INPUT_UNCERTAINTY = {"it_power_kw": ("scale", 0.005), "dry_bulb_c": ("offset", 0.2)}


def _least_squares(fn, x0, params: list[Parameter]):
    from scipy.optimize import least_squares

    return least_squares(fn, x0, bounds=([p.low for p in params], [p.high for p in params]), x_scale="jac",
                         method="trf", xtol=1e-8, ftol=1e-10, max_nfev=60 * len(params))


def _jackknife_std(scenario, names, inputs: ModelInputs, measured: pd.DataFrame, targets, x_fit, params) -> np.ndarray:
    """Delete-a-group jackknife over contiguous blocks of time: it sees what the linearised error cannot
    (noise in the measured IT power that drives the model, errors correlated in time)."""
    blocks = np.array_split(np.arange(len(measured)), JACKKNIFE_GROUPS)
    fits = []
    for block in blocks:
        keep = np.setdiff1d(np.arange(len(measured)), block)
        fn = _residual_fn(scenario, names, inputs.subset(keep), measured.iloc[keep].reset_index(drop=True), targets)
        fits.append(_least_squares(fn, x_fit, params).x)
    fits = np.array(fits)
    g = len(blocks)
    return np.sqrt((g - 1) / g * np.sum((fits - fits.mean(axis=0)) ** 2, axis=0))


def _input_shift_std(scenario, names, inputs: ModelInputs, measured: pd.DataFrame, targets, x_fit,
                     params) -> np.ndarray:
    """Root-sum-square change of the fitted values when each input moves by its standard uncertainty."""
    from dataclasses import replace

    total = np.zeros(len(names))
    for field_name, (how, size) in INPUT_UNCERTAINTY.items():
        value = getattr(inputs, field_name)
        shifted = replace(inputs, **{field_name: value * (1.0 + size) if how == "scale" else value + size})
        fn = _residual_fn(scenario, names, shifted, measured, targets)
        total += (_least_squares(fn, x_fit, params).x - x_fit) ** 2
    return np.sqrt(total)


def calibrate(scenario: Scenario, inputs: ModelInputs, measured: pd.DataFrame, names: list[str],
              targets: list[str], max_points: int = 40_000) -> CalibrationResult:
    """Fit ``names`` so the model's ``targets`` match ``measured`` (same grid as ``inputs``).

    The standard uncertainty of each value combines its statistical part (the larger of the
    linearised error and a delete-a-group jackknife over eight blocks of time) with the effect of
    the measured inputs' own uncertainty (``INPUT_UNCERTAINTY``), root-sum-square; the 95 %
    interval is +/- 1.96 of it.
    """
    unknown = [n for n in names if n not in PARAMETERS]
    if unknown or not names:
        raise InputError("unknown calibration parameter", field="params", value=unknown or names,
                         allowed=", ".join(PARAMETERS))
    if not targets:
        raise InputError("the telemetry has no measured facility output to calibrate against", field="series",
                         allowed="grid_power_kw or a subsystem power (see dctwin.telemetry.quantities)")
    valid = np.flatnonzero(inputs.measured_mask)
    if valid.size < 10 * len(names) * JACKKNIFE_GROUPS:
        raise InputError("too few measured steps to fit these parameters", field="it_power_kw", value=int(valid.size),
                         allowed=f"at least {10 * len(names) * JACKKNIFE_GROUPS}")
    index = valid[np.linspace(0, valid.size - 1, min(max_points, valid.size)).round().astype(np.int64)]
    inputs, measured = inputs.subset(index), measured.iloc[index].reset_index(drop=True)
    params = [PARAMETERS[n] for n in names]
    x0 = np.array([np.clip(p.read(scenario), p.low, p.high) for p in params])
    fn = _residual_fn(scenario, names, inputs, measured, targets)
    r0 = fn(x0)
    fit = _least_squares(fn, x0, params)
    std, identifiable = _uncertainty(fit.jac, fit.fun, len(names))
    std_stat = np.maximum(std, _jackknife_std(scenario, names, inputs, measured, targets, fit.x, params))
    std_inputs = _input_shift_std(scenario, names, inputs, measured, targets, fit.x, params)
    std = np.sqrt(std_stat ** 2 + std_inputs ** 2)
    lows, highs = np.array([p.low for p in params]), np.array([p.high for p in params])
    table = pd.DataFrame({
        "name": names, "label": [p.label for p in params], "unit": [p.unit for p in params], "initial": x0,
        "fitted": fit.x, "std_statistical": std_stat, "std_inputs": std_inputs, "std": std,
        "ci95_low": fit.x - 1.96 * std, "ci95_high": fit.x + 1.96 * std,
        "identifiable": identifiable, "at_bound": np.isclose(fit.x, lows) | np.isclose(fit.x, highs)})
    return CalibrationResult(table, apply_parameters(scenario, dict(zip(names, fit.x, strict=True))),
                             float(np.sum(r0 ** 2)), float(np.sum(fit.fun ** 2)), int(fit.nfev), tuple(targets))


def _uncertainty(jac: np.ndarray, res: np.ndarray, n_params: int) -> tuple[np.ndarray, np.ndarray]:
    """Linearised standard errors; a parameter the data cannot pin down gets inf and identifiable=False."""
    dof = max(len(res) - n_params, 1)
    s2 = float(res @ res) / dof
    jtj = jac.T @ jac
    u, sv, vt = np.linalg.svd(jtj)
    tol = sv.max() * 1e-10 if sv.size and sv.max() > 0 else 1.0
    weak = sv <= tol
    inv = (vt.T[:, ~weak] / sv[~weak]) @ u.T[~weak, :]
    std = np.sqrt(np.clip(np.diag(inv) * s2, 0.0, None))
    # a direction with no information makes every parameter that loads on it unidentifiable
    loads = np.abs(vt[weak, :]).max(axis=0) > 1e-3 if weak.any() else np.zeros(n_params, dtype=bool)
    std[loads] = np.inf
    return std, ~loads
