"""The investor table of a run: NPV, IRR, payback and unit costs with a P10-P90 band over the finance inputs.

Every finance norm with a sourced range (``cost_norms.yaml``: ``range``)
varies at once as a triangular distribution (low, default, high) over a
Latin hypercube of ``samples`` draws (scipy.stats.qmc's, written out with
numpy; seeded by the run's seed); each draw re-runs only the accounting on the run's time series. The
physics does not vary here: a study of physics inputs is ``dctwin sweep``
with an ``uncertainty:`` section. A scenario value outside its norm's range
keeps the scenario's value fixed (the band never moves a user's choice
outside what they set).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.config.economics import EconomicsConfig

__all__ = ["BAND_FIELDS", "INVESTOR_KPIS", "BandDraws", "band_draws", "investor_table", "triangular_ppf"]

# scenario field -> cost norm whose range it takes
BAND_FIELDS = {
    "economics.finance.wacc": "wacc",
    "economics.finance.revenue_eur_per_gpu_hour": "revenue_eur_per_gpu_hour",
    "economics.finance.gpu_price_decline_per_year": "gpu_price_decline_per_year",
    "economics.finance.contracted_share": "contracted_share",
    "economics.finance.contract_price_frac": "contract_price_frac",
    "economics.finance.ramp_start_frac": "ramp_start_frac",
    "economics.finance.it_life_years": "it_life_years",
    "economics.finance.it_residual_frac_of_book": "it_residual_frac_of_book",
    "economics.finance.refresh_price_factor": "refresh_price_factor",
    "economics.spot_price_factor": "spot_price_factor",
    "economics.heat_price_eur_per_mwh": "heat_price_eur_per_mwh",
    "economics.opex.insurance_frac_per_year": "insurance_frac_per_year",
    "economics.capex.facility_capex_usd_per_mw": "facility_capex_usd_per_mw",
}
INVESTOR_KPIS = ("npv_eur", "irr_project", "payback_years", "lcoc_eur_per_gpu_hour", "eur_per_gpu_hour_used")


class _WithEconomics:
    """The scenario (or a stage's view of it) with another ``economics`` section."""

    def __init__(self, scenario: Any, economics: EconomicsConfig) -> None:
        self._scenario, self.economics = scenario, economics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scenario, name)


def _economics_with(econ: EconomicsConfig, values: dict[str, float]) -> EconomicsConfig:
    """``econ`` with ``economics.[section.]field`` paths set (values drawn inside the norms' ranges); fields the
    scenario filled from its site stay as they are."""
    top: dict[str, Any] = {}
    sub: dict[str, dict[str, float]] = {}
    for path, v in values.items():
        parts = path.split(".")[1:]
        if len(parts) == 1:
            top[parts[0]] = float(v)
        else:
            sub.setdefault(parts[0], {})[parts[1]] = float(v)
    for section, upd in sub.items():
        top[section] = getattr(econ, section).model_copy(update=upd)
    return econ.model_copy(update=top)


def _get(scenario: Any, path: str) -> float | None:
    """The value in use at a dotted path (read from the objects: a dump leaves out site-filled values)."""
    node = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return None if node is None else float(node)


@dataclass(frozen=True)
class BandDraws:
    """Latin-hypercube points in (0, 1]^d, one column per ``BAND_FIELDS`` entry (a stage-cache entry: a warm
    re-run reads them back instead of drawing them)."""

    unit: np.ndarray


def band_draws(samples: int, seed: int) -> BandDraws:
    """``samples`` Latin-hypercube points over the band's fields, seeded by the run's seed.

    The arithmetic and random stream of ``scipy.stats.qmc.LatinHypercube(d, seed=seed).random(samples)``
    (scrambled, strength 1, no optimisation) bit for bit, a test holds them equal: written out with numpy
    because importing scipy.stats costs ~0.4 s of a run's start-up.
    """
    d = len(BAND_FIELDS)
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(size=(samples, d))
    perms = np.tile(np.arange(1, samples + 1), (d, 1))
    for i in range(d):
        rng.shuffle(perms[i, :])
    return BandDraws((perms.T - jitter) / samples)


def triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Inverse CDF of the triangular distribution (low, mode, high) at probabilities ``u`` (the arithmetic of
    ``scipy.stats.triang.ppf(u, c, loc=low, scale=high - low)``, bit for bit; a test holds them equal)."""
    scale = high - low
    c = (mode - low) / scale
    return np.where(u < c, np.sqrt(c * u), 1 - np.sqrt((1 - c) * (1 - u))) * scale + low


def _draws(scenario: Any, samples: int, seed: int, draws: BandDraws | None = None) -> tuple[list[str], np.ndarray]:
    """Fields that vary and a (samples x fields) array of their values."""
    from dctwin.config.economics import norm_range

    fields, cols = [], []
    u = (draws or band_draws(samples, seed)).unit
    for j, (path, norm) in enumerate(BAND_FIELDS.items()):
        rng, mode = norm_range(norm), _get(scenario, path)
        if rng is None or mode is None or rng[1] <= rng[0] or not rng[0] <= mode <= rng[1]:
            continue
        fields.append(path)
        cols.append(triangular_ppf(u[:, j], rng[0], mode, rng[1]))
    return fields, np.column_stack(cols) if cols else np.empty((samples, 0))


def investor_table(scenario: Scenario, kpis_of: Callable[[Any], dict[str, float]], base_kpis: dict[str, float],
                   samples: int, draws: BandDraws | None = None) -> pd.DataFrame:
    """One row per investor figure: the run's value and P10/P50/P90 over ``samples`` finance draws.

    kpis_of: the accounting KPIs of a scenario on this run's series; base_kpis: the run's KPIs; draws:
    ``band_draws(samples, seed)`` when the caller has them (read back from the stage cache).
    Per-token figures (``eur_per_mtok__<svc>``) are included when the run serves inference.
    """
    names = [*INVESTOR_KPIS, *sorted(k for k in base_kpis if k.startswith("eur_per_mtok__"))]
    rows: dict[str, list[float]] = {k: [] for k in names}
    fields, values = (_draws(scenario, samples, scenario.simulation.seed, draws) if samples > 0
                      else ([], np.empty((0, 0))))
    for row in values:
        k = kpis_of(_WithEconomics(scenario, _economics_with(scenario.economics, dict(zip(fields, row, strict=True)))))
        for name in names:
            v = k.get(name)
            rows[name].append(float("nan") if v is None else float(v))
    out = []
    for name in names:
        v = np.asarray(rows[name], dtype=float)
        v = v[~np.isnan(v)]
        p = np.percentile(v, [10, 50, 90], method="inverted_cdf") if v.size else [np.nan] * 3
        base = base_kpis.get(name)
        out.append({"kpi": name, "value": float("nan") if base is None else float(base), "p10": float(p[0]),
                    "p50": float(p[1]), "p90": float(p[2]), "samples": int(v.size), "inputs_varied": len(fields)})
    return pd.DataFrame(out, columns=["kpi", "value", "p10", "p50", "p90", "samples", "inputs_varied"])
