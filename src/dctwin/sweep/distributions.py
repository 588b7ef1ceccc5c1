"""Uncertain inputs of a sweep: a distribution per scenario field, sampled by Sobol' or Latin hypercube (SALib).

Samples are drawn on the unit hypercube by SALib and mapped through each
input's inverse CDF (scipy.stats), so the Sobol' design (and its indices)
holds whatever the marginal distributions are.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from dctwin.config.base import Section
from dctwin.errors import InputError

__all__ = ["UncertainInput", "Uncertainty", "unit_samples", "to_values"]


class UncertainInput(Section):
    field: str = Field(description="Dotted scenario field path, e.g. 'economics.finance.wacc' or "
                                   "'economics.capex.rack_price_usd.vr-nvl72' (catalog rack price override).")
    dist: Literal["uniform", "triangular", "normal", "lognormal"] = Field(description="Distribution of the field.")
    low: float | None = Field(None, description="uniform/triangular: lower bound; normal/lognormal: P5 bound.")
    high: float | None = Field(None, description="uniform/triangular: upper bound; normal/lognormal: P95 bound.")
    mode: float | None = Field(None, description="triangular: most likely value.")
    label: str | None = Field(None, max_length=60, description="Short name in tables and figures.")
    integer: bool = Field(False, description="Round each draw to a whole number (e.g. years).")

    @model_validator(mode="after")
    def _bounds(self) -> UncertainInput:
        if self.low is None or self.high is None or not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high are required finite numbers")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.dist == "triangular" and (self.mode is None or not self.low <= self.mode <= self.high):
            raise ValueError("triangular needs a mode between low and high")
        if self.dist == "lognormal" and self.low <= 0:
            raise ValueError("lognormal needs low > 0")
        return self

    @property
    def name(self) -> str:
        return self.label or self.field.rsplit(".", 1)[-1]


class Uncertainty(Section):
    method: Literal["sobol", "lhs"] = Field("sobol", description="'sobol': Saltelli/Sobol' design with "
                                             "first- and total-order indices; 'lhs': Latin hypercube.")
    samples: int = Field(1000, ge=4, le=100_000, description="Samples wanted; a Sobol' design rounds up to "
                         "N x (inputs + 2) with N a power of two.")
    seed: int = Field(1, ge=0, description="Seed of the sampler.")
    inputs: list[UncertainInput] = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _unique(self) -> Uncertainty:
        for what in ("field", "name"):
            seen = [getattr(i, what) for i in self.inputs]
            if len(set(seen)) != len(seen):
                raise ValueError(f"each uncertain input needs a distinct {what}")
        return self


def _salib():
    try:
        from SALib.sample import latin, sobol
    except ImportError:  # an extra: pip install 'dctwin[uncertainty]'
        raise InputError("uncertainty studies need SALib", allowed="pip install 'dctwin[uncertainty]'") from None
    return latin, sobol


def unit_samples(unc: Uncertainty) -> tuple[np.ndarray, dict]:
    """Samples on [0, 1)^D (rows) and the SALib problem they were drawn for."""
    latin, sobol = _salib()
    d = len(unc.inputs)
    problem = {"num_vars": d, "names": [i.name for i in unc.inputs], "bounds": [[0.0, 1.0]] * d}
    if unc.method == "sobol":
        n = 1 << max(int(math.ceil(math.log2(max(unc.samples / (d + 2), 2)))), 1)
        x = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=unc.seed)
    else:
        x = latin.sample(problem, unc.samples, seed=unc.seed)
    return np.clip(x, 1e-9, 1 - 1e-9), problem


def to_values(unc: Uncertainty, u: np.ndarray) -> np.ndarray:
    """Unit samples mapped through each input's inverse CDF [field units]."""
    from scipy import stats

    out = np.empty_like(u)
    z95 = stats.norm.ppf(0.95)
    for j, inp in enumerate(unc.inputs):
        lo, hi = float(inp.low), float(inp.high)
        if inp.dist == "uniform":
            v = lo + u[:, j] * (hi - lo)
        elif inp.dist == "triangular":
            c = (float(inp.mode) - lo) / (hi - lo)
            v = stats.triang.ppf(u[:, j], c, loc=lo, scale=hi - lo)
        elif inp.dist == "normal":  # low/high are P5/P95
            v = stats.norm.ppf(u[:, j], loc=(lo + hi) / 2, scale=(hi - lo) / (2 * z95))
        else:
            mu, sigma = (math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / (2 * z95)
            v = np.exp(stats.norm.ppf(u[:, j], loc=mu, scale=sigma))
        out[:, j] = np.round(v) if inp.integer else v
    return out
