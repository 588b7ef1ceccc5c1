"""The IT-side check: measured GPU power against dctwin's GPU power model driven by measured utilisation.

Telemetry that meters GPUs but no facility equipment cannot check the facility
model (``dctwin replay`` then has nothing to compare and ``dctwin calibrate`` refuses).
It can check the IT power model the facility is driven by in a simulation
(``dctwin.facility.it_power.rack_power_curve_kw``): a GPU draws its idle power plus
the utilised share of its idle-to-maximum range. Per server, the GPU's idle and
maximum power are fitted with scipy's ``least_squares`` on a calibration period; the
model's errors (ASHRAE Guideline 14 CV(RMSE) and NMBE of the hourly sum over the
servers) are reported on that period and on a later, held-out check period.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.telemetry.metrics import cv_rmse_pct, nmbe_pct

__all__ = ["BIOHPC", "ItSideCheck", "biohpc_check", "gpu_power_w", "itside_check"]

# the shipped Cornell BioHPC excerpt (data/cornell-biohpc/README.md): files, servers, calibration/check split
BIOHPC = {
    "dir": "cornell-biohpc",
    "telemetry": "gpu_telemetry_2025-06-09_2025-08-03.csv",
    "mapping": "mapping.yaml",
    "scenario": "scenario.yaml",
    "hosts": ("cbsugpu07", "cbsugpu09", "cbsugpu10"),
    "split_local": "2025-07-14",   # calibration: 2025-06-09 .. 07-13 (5 weeks); check: 07-14 .. 08-03 (3 weeks)
}


def shipped(name: str) -> Path:
    """Path of a file of the shipped BioHPC excerpt (``telemetry``, ``mapping`` or ``scenario``)."""
    return Path(str(resources.files("dctwin.telemetry") / "data" / BIOHPC["dir"] / BIOHPC[name]))


def gpu_power_w(idle_w: float, max_w: float, utilisation_pct) -> np.ndarray:
    """Power of one GPU [W] at utilisation [%] by dctwin's IT power model, for a GPU of these idle and max."""
    from dctwin.catalog import get_platform
    from dctwin.facility.it_power import rack_power_curve_kw

    gpu = dataclasses.replace(get_platform("hgx-h100"), id="measured-gpu", gpus_per_unit=1, gpu_idle_w=idle_w,
                              gpu_max_w=max_w, unit_idle_kw=idle_w / 1000.0, unit_max_kw=max_w / 1000.0, parts=())
    return rack_power_curve_kw(gpu, np.clip(np.asarray(utilisation_pct, dtype=float) / 100.0, 0.0, 1.0)) * 1000.0


def _host_frame(files: list[Path], mapping: Path, host: str, label: str) -> pd.DataFrame:
    """This server's GPU power [W] and utilisation [%] on the mapping's grid (missing hours NaN)."""
    from dctwin.errors import InputError
    from dctwin.telemetry import read_telemetry
    from dctwin.telemetry.mapping import read_mapping

    tmap = read_mapping(mapping)
    if "gpu_utilisation_pct" not in tmap.series:
        raise InputError("the IT-side check needs GPU utilisation: map gpu_utilisation_pct", file=str(mapping),
                         field="series", allowed="it_power_kw (GPU power) and gpu_utilisation_pct")
    series = {q: s.model_copy(update={"labels": {**s.labels, label: host}}) for q, s in tmap.series.items()
              if q in ("it_power_kw", "gpu_utilisation_pct")}
    frame = read_telemetry(files, tmap.model_copy(update={"series": series})).frame
    return pd.DataFrame({"time": frame["time"], "power_w": frame["it_power_kw"] * 1000.0,
                         "util_pct": frame["gpu_utilisation_pct"]})


def _fit(power_w: np.ndarray, util_pct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(idle_w, max_w) minimising the squared error of ``gpu_power_w``, and their linearised standard errors."""
    from scipy.optimize import least_squares

    ok = np.isfinite(power_w) & np.isfinite(util_pct)
    p, u = power_w[ok], util_pct[ok]
    fit = least_squares(lambda x: gpu_power_w(x[0], x[1], u) - p, x0=[float(p.min()), float(p.max())],
                        bounds=([0.0, 1.0], [2000.0, 5000.0]), x_scale="jac")
    dof = max(len(p) - 2, 1)
    cov = np.linalg.pinv(fit.jac.T @ fit.jac) * float(fit.fun @ fit.fun) / dof
    return fit.x, np.sqrt(np.clip(np.diag(cov), 0.0, None))


@dataclass(frozen=True)
class ItSideCheck:
    gpus: pd.DataFrame   # host, fitted idle and max power [W] with standard errors, hours used
    errors: pd.DataFrame  # period (calibration | check), model (calibrated | packaged), hours, CV(RMSE) and NMBE [%]
    hourly: pd.DataFrame  # time, period, measured, calibrated and packaged model total GPU power [W]


def _errors(hourly: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for period in ("calibration", "check"):
        part = hourly[hourly["period"] == period]
        for model in ("calibrated", "packaged"):
            m, p = part["measured_w"], part[f"{model}_w"]
            rows.append({"period": period, "model": model, "hours": int((m.notna() & p.notna()).sum()),
                         "cv_rmse_pct": cv_rmse_pct(m, p), "nmbe_pct": nmbe_pct(m, p)})
    return pd.DataFrame(rows)


def itside_check(files: list[Path], mapping: Path, hosts: tuple[str, ...], split_utc: pd.Timestamp,
                 packaged: tuple[float, float], label: str = "host") -> ItSideCheck:
    """Fit each host's GPU idle and max power on the steps before ``split_utc`` and compare the model with the
    measured total GPU power on both sides of it; ``packaged`` is the (idle, max) [W] used before calibration.

    Each host is one GPU: the mapping's ``it_power_kw`` and ``gpu_utilisation_pct`` series whose ``label`` is
    the host's name."""
    from dctwin.errors import InputError

    frames = {h: _host_frame(files, mapping, h, label).set_index("time") for h in hosts}
    start, end = min(f.index[0] for f in frames.values()), max(f.index[-1] for f in frames.values())
    grid = pd.date_range(start, end, freq=pd.Timedelta(frames[hosts[0]].index[1] - frames[hosts[0]].index[0]))
    frames = {h: f.reindex(grid) for h, f in frames.items()}  # one grid: a host's missing hours stay NaN
    time = pd.Series(grid)
    calib = (time < split_utc).to_numpy()
    if calib.all() or not calib.any():
        raise InputError("the split must fall inside the telemetry's span", field="split", value=str(split_utc),
                         allowed=f"after {grid[0]} and up to {grid[-1]}")
    gpus, totals = [], {"measured_w": 0.0, "calibrated_w": 0.0, "packaged_w": 0.0}
    for host, f in frames.items():
        power, util = f["power_w"].to_numpy(float), f["util_pct"].to_numpy(float)
        (idle, peak), (s_idle, s_peak) = _fit(power[calib], util[calib])
        gpus.append({"host": host, "idle_w": idle, "idle_std_w": s_idle, "max_w": peak, "max_std_w": s_peak,
                     "calibration_hours": int(np.isfinite(power[calib] + util[calib]).sum())})
        totals["measured_w"] = totals["measured_w"] + power  # NaN where any host is missing
        totals["calibrated_w"] = totals["calibrated_w"] + np.where(np.isnan(util), np.nan,
                                                                   gpu_power_w(idle, peak, np.nan_to_num(util)))
        totals["packaged_w"] = totals["packaged_w"] + np.where(np.isnan(util), np.nan,
                                                               gpu_power_w(*packaged, np.nan_to_num(util)))
    hourly = pd.DataFrame({"time": time, "period": np.where(calib, "calibration", "check"), **totals})
    return ItSideCheck(pd.DataFrame(gpus), _errors(hourly), hourly)


@lru_cache(maxsize=1)
def biohpc_check() -> ItSideCheck:
    """The IT-side check of the shipped Cornell BioHPC excerpt; before calibration, every GPU is taken to be the
    packaged HGX H100's GPU (the catalog has none of these three GPUs)."""
    from zoneinfo import ZoneInfo

    from dctwin.catalog import get_platform

    h100 = get_platform("hgx-h100")
    split = pd.Timestamp(BIOHPC["split_local"]).tz_localize(ZoneInfo("America/New_York")).tz_convert("UTC")
    return itside_check([shipped("telemetry")], shipped("mapping"), BIOHPC["hosts"], split,
                        (h100.gpu_idle_w, h100.gpu_max_w))
