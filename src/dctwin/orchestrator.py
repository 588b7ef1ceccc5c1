"""The orchestrator: one scenario in, one run out.

It checks the run fits, builds the timeline and the installed pools, runs the chain of stages
(``dctwin.stages.run_stages``: site -> operation -> workload -> cluster per pool -> IT power -> facility
-> accounting -> tables), and writes the run directory.
"""

from __future__ import annotations

import datetime as dt
import platform as _platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dctwin import __version__
from dctwin.buildout import installed_pools
from dctwin.config import Scenario, load_scenario
from dctwin.errors import ScenarioError
from dctwin.progress import listening
from dctwin.results import RunResult, write_run_dir
from dctwin.results.timing import TIMING, timing_text, utc_text
from dctwin.timeline import Timeline

__all__ = ["simulate", "run", "default_out_dir", "Progress"]

Progress = Callable[[str, float], None]
"""Called as ``progress(stage, fraction_done)`` while a run advances."""

# Seconds each stage takes per unit of its work, measured on a year at 15-min steps of borlange-2027
# (7,200 GPUs: 31 s) and campus-600mw (194,400 GPUs: 347 s) on the shared 2-core machine (2026-12-06,
# scripts of the i18 report): the cluster engine scales with GPU-days (8.3e-6 and 4.7e-6 s), the rest
# with time steps. The progress fraction, and the time left drawn from it, follow these weights.
STAGE_COST_S = {"site": ("steps", 9e-5), "workload": ("steps", 1e-5), "cluster": ("gpu_days", 6.5e-6),
                "facility": ("steps", 1e-5), "accounting": ("steps", 2e-4), "write": ("steps", 6e-5)}
STAGES = tuple(STAGE_COST_S)


def stage_starts(gpu_days: float, steps: int) -> dict[str, float]:
    """Share of a run's time spent before each stage starts, for a run of this size."""
    costs = [per * (gpu_days if unit == "gpu_days" else steps) for unit, per in STAGE_COST_S.values()]
    total = sum(costs) or 1.0
    starts, done = {}, 0.0
    for name, cost in zip(STAGES, costs, strict=True):
        starts[name] = done / total
        done += cost
    return starts


STAGE_STARTS = stage_starts(7200 * 365.0, 35040)   # the default scenario's year


def _noop(stage: str, fraction: float) -> None:
    return None


@dataclass
class _Stage:
    """Moves the run's progress to each stage's start; inside the cluster stage, with the engines'
    simulated time (one engine run per pool, or two under demand response), between its start and
    the next stage's."""

    progress: Progress
    parts: int = 1
    starts: dict[str, float] = field(default_factory=lambda: dict(STAGE_STARTS))
    stage: str = "site"
    part: int = 0
    last: float = 1.0

    def __call__(self, name: str) -> None:
        self.stage = name
        self.progress(name, self.starts[name])

    def within(self, fraction: float) -> None:
        if self.stage != "cluster":
            return
        if fraction < self.last:          # a new engine run began
            self.part += 1
        self.last = fraction
        done = min(1.0, (self.part - 1 + fraction) / max(self.parts, 1))
        start, end = self.starts["cluster"], self.starts["facility"]
        self.progress("cluster", start + done * (end - start))


def simulate(scenario: Scenario, progress: Progress = _noop, cache=None, perf=None) -> RunResult:
    """Run ``scenario`` in memory and return its results (no run directory is written).

    ``cache``: a stage-cache folder (or a ``dctwin.stages.StageCache``, whose ``hits`` and ``misses`` then
    name the stages read back and recomputed); stages whose inputs are unchanged are read back from it.
    ``perf``: the performance model's constants (a ``dctwin.perf.params.PerfParams``, e.g. a refit; None: the
    packaged ones); the stages that read them are keyed by them.
    """
    from dctwin.safeio import read_once

    with read_once():  # each input file opened once: hashed (cache key, provenance) and parsed from the same bytes
        return _simulate(scenario, progress, cache, perf)


def _simulate(scenario: Scenario, progress: Progress, cache, perf) -> RunResult:
    from dctwin.config.runnable import check_runnable
    from dctwin.limits import check_run_fits
    from dctwin.stages import run_stages

    check_run_fits(scenario)  # refuse up front what would not fit this machine's memory
    check_runnable(scenario, perf=perf)  # and what a later stage would refuse (as `scenario validate` does)
    started = time.time()
    timeline = Timeline.from_config(scenario.simulation)
    pools = installed_pools(scenario, timeline)
    if not pools:
        raise ScenarioError(
            "no racks are online during the simulated span", field="phases",
            allowed="a phase starting before simulation.start + simulation.duration_days",
        )
    stage_cache = _stage_cache(cache)
    gpu_days = sum(float(p.gpus_online.mean()) for p in pools) * timeline.n_steps * timeline.step_s / 86400.0
    stages = _Stage(progress, parts=len(pools) * (2 if "demand_response" in scenario.operation.policies else 1),
                    starts=stage_starts(gpu_days, timeline.n_steps))
    with listening(stages.within):
        tables, kpis = run_stages(scenario, timeline, pools, stages, stage_cache, perf)
    progress("write", stages.starts["write"])
    manifest = {
        "dctwin_version": __version__,
        "scenario_name": scenario.name,
        "seed": scenario.simulation.seed,
        "step_s": timeline.step_s,
        "n_steps": timeline.n_steps,
        "python": sys.version.split()[0],
        "machine": _platform.platform(),
        "scenario": scenario.model_dump(mode="json"),
        **_site_records(scenario),
    }
    return RunResult(scenario=scenario, kpis=kpis, tables=tables, manifest=manifest,
                     timing={"started_utc": utc_text(started)})


CLUSTER_TABLES = ("jobs", "failures", "placements")  # made of the cluster stages' results alone


def _stage_cache(cache):
    """``cache`` as a stage cache object (a folder becomes a ``StageCache``; None runs every stage)."""
    from dctwin.stages import NoCache, StageCache

    return cache if isinstance(cache, NoCache) else StageCache(cache) if cache is not None else NoCache()


def _encoded_tables(stage_cache):
    """The Parquet files of ``CLUSTER_TABLES`` kept in the stage cache (``dctwin.stages.cache.EncodedTables``):
    a warm re-run copies their bytes instead of encoding the same frames again (~0.4 s CPU of a default year)."""
    from dctwin.stages.cache import EncodedTables

    stages = [name for name in getattr(stage_cache, "keys", {}) if name.startswith("cluster#")]
    return EncodedTables(stage_cache, stages) if stage_cache.enabled else _NoTables()


class _NoTables:
    def get(self, name: str) -> None:
        return None

    def keep(self, name: str, written: Path) -> None:
        return None


def _site_records(scenario: Scenario) -> dict[str, object]:
    """Where each site series came from and any location-mismatch warnings (``dctwin.site.provenance``)."""
    from dctwin.site.provenance import economics_provenance, site_provenance, site_warnings

    return {"site_data": site_provenance(scenario.site, scenario.simulation.seed) + economics_provenance(scenario),
            "site_warnings": site_warnings(scenario.site)}


def default_out_dir(scenario: Scenario, root: Path = Path("runs")) -> Path:
    """``runs/<name>-<UTC time>``, with a counter if that exists already."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = root / f"{scenario.name}-{stamp}"
    n = 2
    while out.exists():
        out = root / f"{scenario.name}-{stamp}-{n}"
        n += 1
    return out


def run(
    scenario: Scenario | str | Path | None = None,
    out_dir: str | Path | None = None,
    progress: Progress = _noop,
    finish: Callable[[Path], object] | None = None,
    cache=None,
) -> RunResult:
    """Run a scenario (object, packaged name or file; ``None`` = the default) and write its run directory.

    ``finish(folder)`` (e.g. ``write_report``) runs on the staged run before it is renamed into place;
    ``cache``: a stage-cache folder (see ``simulate``).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    out = Path(out_dir) if out_dir is not None else default_out_dir(scenario)
    from dctwin.safeout import check_new_run_dir

    check_new_run_dir(out, cache)  # before the run: an unwritable --out was refused only once the year had run
    t0 = time.perf_counter()
    stage_cache = _stage_cache(cache)
    result = simulate(scenario, progress, stage_cache)
    result.timing.update(finished_utc=utc_text(time.time()), wall_time_s=round(time.perf_counter() - t0, 3))
    import yaml

    resolved = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    encoded = _encoded_tables(stage_cache)
    reused = {name: path for name in CLUSTER_TABLES if name in result.tables and (path := encoded.get(name))}
    tables = {n: reused[n] if n in reused else result.tables[n] for n in result.tables}  # a kept file: not read
    write_run_dir(out, tables, result.kpis, result.manifest, texts={"scenario.yaml": resolved}, finish=finish,
                  unsealed={TIMING: timing_text(result.timing)})  # wall-clock times: the one unreproducible file
    for name in CLUSTER_TABLES:
        if name in result.tables and name not in reused:
            encoded.keep(name, out / f"{name}.parquet")
    progress("write", 1.0)
    result.path = out
    return result
