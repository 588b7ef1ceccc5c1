"""Shared inputs for the accounting, operation and planner tests (no tests here).

The catalog and site packages are edited in parallel; these helpers read the
packaged catalog file directly when the loader refuses it, so the accounting
tests do not depend on another module's state.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dctwin.catalog import Platform
from dctwin.config import Scenario
from dctwin.config.load import read_yaml
from dctwin.errors import DctwinError


def vr_platform() -> Platform:
    """The packaged Vera Rubin NVL72 entry (loader if it works, raw file otherwise)."""
    try:
        from dctwin.catalog import get_platform

        return get_platform("vr-nvl72")
    except DctwinError:
        path = Path(str(resources.files("dctwin.catalog") / "data" / "vr-nvl72.yaml"))
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        vals = {k: v["value"] for k, v in doc["values"].items() if k in Platform.__dataclass_fields__}
        return Platform(id=doc["id"], name=doc["name"], kind=doc["kind"], gpu_name=doc["gpu_name"], **vals)


def platforms() -> dict[str, Platform]:
    return {"vr-nvl72": vr_platform()}


def default_scenario(**economics_overrides) -> Scenario:
    """The packaged default scenario, validated without the catalog cross-checks."""
    path = Path(str(resources.files("dctwin") / "scenarios" / "borlange-2027.yaml"))
    data = read_yaml(path)
    if economics_overrides:
        data["economics"] = {**data.get("economics", {}), **economics_overrides}
    return Scenario.model_validate(data)


def flat_series(n_steps: int, step_s: int = 3600, *, grid_kw: float = 1000.0, price: float = 50.0,
                carbon: float = 40.0, heat_kw: float = 0.0, gpus: int = 7200, busy_train: int = 3600,
                busy_inf: int = 1800, start: str = "2027-01-01") -> pd.DataFrame:
    """A constant-load run series with every column the accounting needs."""
    ts = pd.date_range(start, periods=n_steps, freq=pd.Timedelta(seconds=step_s))
    return pd.DataFrame({
        "t_s": np.arange(n_steps) * step_s, "timestamp": ts,
        "it_power_kw": grid_kw / 1.1, "grid_power_kw": float(grid_kw), "heat_delivered_kw": float(heat_kw),
        "heat_pump_kw": 0.0, "price_eur_per_mwh": float(price), "carbon_g_per_kwh": float(carbon),
        "gpus_online": gpus, "gpus_busy_training": busy_train, "gpus_busy_inference": busy_inf,
        "water_l_per_h": 0.0,
        "mistral-large-2__output_tokens_served_per_s": 2.0e5, "mistral-large-2__input_tokens_served_per_s": 6.0e5,
        "mixtral-8x22b__output_tokens_served_per_s": 1.0e5, "mixtral-8x22b__input_tokens_served_per_s": 3.0e5,
    })
