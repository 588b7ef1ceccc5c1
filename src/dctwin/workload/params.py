"""Read the workload data files (fitted parameters) once; model sizes come from ``dctwin.perf``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from dctwin.datafile import read_data_yaml
from dctwin.errors import InputError

__all__ = ["job_fits", "model_params", "token_fits"]


def _read(name: str) -> dict[str, Any]:
    return read_data_yaml(Path(str(resources.files("dctwin.workload") / "data" / name)), "workload fit file")


@cache
def job_fits() -> dict[str, Any]:
    """Fitted development-job and submission parameters (``data/job_fits.yaml``)."""
    return _read("job_fits.yaml")


@cache
def token_fits() -> dict[str, Any]:
    """Fitted token mixes of the Azure LLM traces (``data/token_fits.yaml``)."""
    return _read("token_fits.yaml")


def model_params(model: str, field: str = "workload.training.pretrain.model") -> tuple[float, float]:
    """(total, active) parameters of ``model`` from the one model registry, ``dctwin.perf`` [billion].

    Raises InputError listing the known ids when ``model`` is unknown.
    """
    from dctwin.perf import load_models  # perf/data/models.yaml, with each size's source

    models = load_models()
    if model not in models:
        raise InputError("unknown model", field=field, value=model, allowed=", ".join(sorted(models)))
    m = models[model]
    return m.params_total / 1e9, m.params_active / 1e9
