"""Uncertainty studies: sample the uncertain inputs, evaluate every sample, report P10/P50/P90 and Sobol' indices.

Samples that change only ``economics.*`` fields (finance) reuse the physics:
the base scenario is simulated once and each sample re-runs only the
accounting on the stored time series (about 40 ms). A study with any other
field runs the full simulation per sample. Both paths run on a local process
pool or on a Ray cluster; the work is split into the same ordered chunks and
every evaluation is deterministic, so both engines give identical tables.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dctwin.config import scenario_from_dict
from dctwin.errors import ScenarioError
from dctwin.sweep.distributions import Uncertainty, to_values, unit_samples

__all__ = ["FINANCE_ONLY_EXCEPT", "OUTPUT_KPIS", "is_finance_only", "sample_table", "tornado_points", "evaluate"]

# economics fields that also feed non-accounting KPIs (renewable share of the facility KPIs)
FINANCE_ONLY_EXCEPT = ("economics.ppa_share",)
OUTPUT_KPIS = ("npv_eur", "irr_project", "irr_equity", "payback_years", "lcoc_eur_per_gpu_hour",
               "eur_per_gpu_hour_used", "eur_per_gpu_hour_available", "tco_eur", "capex_eur", "pue",
               "emissions_market_t", "emissions_location_t", "energy_cost_eur", "heat_revenue_eur")

_WORKER: dict[str, Any] = {}


def is_finance_only(unc: Uncertainty) -> bool:
    """True when every uncertain field is an accounting input (the physics can be reused)."""
    return all(i.field.startswith("economics.") and i.field not in FINANCE_ONLY_EXCEPT for i in unc.inputs)


def _set(doc: dict, path: str, value: Any, where: str, source: str) -> None:
    from dctwin.sweep.spec import set_path

    parent, _, key = path.rpartition(".")
    if parent.endswith("rack_price_usd"):  # a catalog price: the override map may not hold the key yet
        node = doc
        for part in parent.split("."):
            node = node[part]
        node[key] = value
        return
    set_path(doc, path, value, where=where, source=source)


def _docs(base_doc: dict, unc: Uncertainty, values: np.ndarray, source: str, tag: str) -> list[dict]:
    docs = []
    for s, row in enumerate(values):
        doc = copy.deepcopy(base_doc)
        for j, inp in enumerate(unc.inputs):
            v = int(row[j]) if inp.integer else float(row[j])
            _set(doc, inp.field, v, where=f"uncertainty.inputs[{j}].field", source=source)
        doc["name"] = f"{base_doc['name']}-{tag}{s:05d}"
        try:
            scenario_from_dict(doc, source=source)
        except ScenarioError as exc:
            shown = ", ".join(f"{i.name}={row[j]:.4g}" for j, i in enumerate(unc.inputs))
            raise ScenarioError(f"sample {s} ({shown}) is not a valid scenario: {exc.problem}", file=source,
                                field=exc.field, value=exc.value, allowed=exc.allowed) from None
        docs.append(doc)
    return docs


def sample_table(base_doc: dict, unc: Uncertainty, source: str) -> tuple[pd.DataFrame, list[dict], dict]:
    """The samples (one row each, ``sample`` id plus one column per input name), their validated scenario
    documents, and the SALib problem."""
    u, problem = unit_samples(unc)
    values = to_values(unc, u)
    table = pd.DataFrame(values, columns=[i.name for i in unc.inputs])
    table.insert(0, "sample", np.arange(len(table)))
    return table, _docs(base_doc, unc, values, source, "s"), problem


def tornado_points(base_doc: dict, unc: Uncertainty, source: str) -> tuple[pd.DataFrame, list[dict]]:
    """One-at-a-time points for the tornado: every input at its P10 and at its P90, the others at their P50.

    Returns the points (``input``, ``at``, ``value``) and their scenario documents, in the same order.
    """
    d = len(unc.inputs)
    u = np.full((2 * d + 1, d), 0.5)
    for j in range(d):
        u[2 * j, j], u[2 * j + 1, j] = 0.1, 0.9
    values = to_values(unc, u)
    rows = [{"input": unc.inputs[j].name, "at": at, "value": float(values[2 * j + k, j])}
            for j in range(d) for k, at in enumerate(("p10", "p90"))]
    rows.append({"input": "(all at P50)", "at": "p50", "value": float("nan")})
    return pd.DataFrame(rows), _docs(base_doc, unc, values, source, "t")


def _pick(kpis: dict) -> dict:
    out = {k: kpis.get(k) for k in OUTPUT_KPIS}
    out.update({k: v for k, v in kpis.items() if k.startswith("eur_per_mtok__")})
    return {k: (float("nan") if v is None else float(v)) for k, v in out.items()}


def _finance_chunk(series: pd.DataFrame, step_s: int, base_kpis: dict, docs: list[dict]) -> list[dict]:
    from dctwin.accounting import account

    out = []
    for doc in docs:
        kpis = dict(base_kpis)
        kpis.update(account(scenario_from_dict(doc, source="<sample>"), series, step_s).kpis)
        out.append(_pick(kpis))
    return out


def _physics_chunk(docs: list[dict]) -> list[dict]:
    from dctwin.orchestrator import simulate

    return [_pick(simulate(scenario_from_dict(d, source="<sample>")).kpis) for d in docs]


def _init_worker(series_path: str, step_s: int, base_kpis: dict) -> None:
    _WORKER.update(series=pd.read_parquet(series_path), step_s=step_s, base_kpis=base_kpis)


def _finance_worker(docs: list[dict]) -> list[dict]:
    return _finance_chunk(_WORKER["series"], _WORKER["step_s"], _WORKER["base_kpis"], docs)


def _chunks(docs: list[dict], size: int) -> list[list[dict]]:
    return [docs[i:i + size] for i in range(0, len(docs), size)]


def evaluate(base_doc: dict, docs: list[dict], finance_only: bool, folder: Path, workers: int, ray_address: str | None,
             on_chunk: Callable[[int], None] = lambda n: None) -> tuple[pd.DataFrame, dict]:
    """KPIs of every sample (rows in sample order) and timing notes."""
    t0 = time.perf_counter()
    notes: dict[str, Any] = {"engine": f"ray:{ray_address}" if ray_address else f"local x{workers}",
                             "physics_reused": finance_only}
    series = base_kpis = None
    if finance_only:
        from dctwin.orchestrator import simulate

        base = simulate(scenario_from_dict(base_doc, source="<base>"))
        series, base_kpis = base.timeseries, dict(base.kpis)
        series.to_parquet(folder / "base_timeseries.parquet")
        step_s = base.scenario.simulation.step_s
        notes["base_simulation_s"] = time.perf_counter() - t0
    size = 25 if finance_only else 1
    chunks = _chunks(docs, size)
    workers = max(1, min(workers, len(chunks)))  # a worker with no chunk to do is not started
    if ray_address:
        rows = _on_ray(chunks, finance_only, series, step_s if finance_only else 0, base_kpis, ray_address, on_chunk)
    elif finance_only:
        with ProcessPoolExecutor(workers, initializer=_init_worker,
                                 initargs=(str(folder / "base_timeseries.parquet"), step_s, base_kpis)) as pool:
            rows = [r for part in pool.map(_finance_worker, chunks) for r in _count(part, on_chunk)]
    else:
        with ProcessPoolExecutor(workers) as pool:
            rows = [r for part in pool.map(_physics_chunk, chunks) for r in _count(part, on_chunk)]
    notes["evaluation_s"] = time.perf_counter() - t0
    return pd.DataFrame(rows), notes


def _count(part: list[dict], on_chunk: Callable[[int], None]) -> list[dict]:
    on_chunk(len(part))
    return part


def _on_ray(chunks, finance_only, series, step_s, base_kpis, address, on_chunk) -> list[dict]:
    import ray

    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    try:
        if finance_only:
            fn = ray.remote(max_retries=3)(_finance_chunk)
            ref = ray.put(series)
            refs = [fn.remote(ref, step_s, base_kpis, c) for c in chunks]
        else:
            fn = ray.remote(max_retries=3)(_physics_chunk)
            refs = [fn.remote(c) for c in chunks]
        rows = []
        for r in refs:  # in submission order: the same table as the local pool
            rows.extend(_count(ray.get(r), on_chunk))
        return rows
    finally:
        ray.shutdown()
