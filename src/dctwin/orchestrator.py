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
from dataclasses import dataclass
from pathlib import Path

from dctwin import __version__
from dctwin.buildout import installed_pools
from dctwin.config import Scenario, load_scenario
from dctwin.errors import ScenarioError
from dctwin.results import RunResult, write_run_dir
from dctwin.timeline import Timeline

__all__ = ["simulate", "run", "default_out_dir", "Progress"]

Progress = Callable[[str, float], None]
"""Called as ``progress(stage, fraction_done)`` while a run advances."""

# Share of a typical run's time spent before each stage starts (profiled on borlange-2027), so the
# progress fraction, and the time-left estimate drawn from it, move at an even pace.
STAGE_STARTS = {"site": 0.0, "workload": 0.12, "cluster": 0.15, "facility": 0.85, "accounting": 0.87, "write": 0.9}
STAGES = tuple(STAGE_STARTS)


def _noop(stage: str, fraction: float) -> None:
    return None


@dataclass(frozen=True)
class _Stage:
    progress: Progress

    def __call__(self, name: str) -> None:
        self.progress(name, STAGE_STARTS[name])


def simulate(scenario: Scenario, progress: Progress = _noop, cache=None) -> RunResult:
    """Run ``scenario`` in memory and return its results (no run directory is written).

    ``cache``: a stage-cache folder (or a ``dctwin.stages.StageCache``, whose ``hits`` and ``misses`` then
    name the stages read back and recomputed); stages whose inputs are unchanged are read back from it.
    """
    from dctwin.limits import check_run_fits
    from dctwin.stages import NoCache, StageCache, run_stages

    check_run_fits(scenario)  # refuse up front what would not fit this machine's memory
    started = time.time()
    timeline = Timeline.from_config(scenario.simulation)
    pools = installed_pools(scenario, timeline)
    if not pools:
        raise ScenarioError(
            "no racks are online during the simulated span", field="phases",
            allowed="a phase starting before simulation.start + simulation.duration_days",
        )
    stage_cache = cache if isinstance(cache, NoCache) else StageCache(cache) if cache is not None else NoCache()
    tables, kpis = run_stages(scenario, timeline, pools, _Stage(progress), stage_cache)
    progress("write", STAGE_STARTS["write"])
    manifest = {
        "dctwin_version": __version__,
        "scenario_name": scenario.name,
        "seed": scenario.simulation.seed,
        "step_s": timeline.step_s,
        "n_steps": timeline.n_steps,
        "started_utc": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": _platform.platform(),
        "scenario": scenario.model_dump(mode="json"),
        **_site_records(scenario),
    }
    return RunResult(scenario=scenario, kpis=kpis, tables=tables, manifest=manifest)


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
    if out.exists():
        raise ScenarioError("output directory already exists; dctwin never overwrites a run", file=str(out),
                            allowed="a new directory (or omit --out for a fresh one under runs/)")
    t0 = time.perf_counter()
    result = simulate(scenario, progress, cache)
    wall_s = time.perf_counter() - t0
    manifest = {
        **result.manifest,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_s, 3),
    }
    import yaml

    resolved = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    write_run_dir(out, result.tables, result.kpis, manifest, texts={"scenario.yaml": resolved}, finish=finish)
    progress("write", 1.0)
    result.path = out
    result.manifest = manifest
    return result
