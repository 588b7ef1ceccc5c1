"""What a run refuses before its first stage; ``dctwin scenario validate`` refuses the same through this one check.

``check_runnable`` raises InputError (exit code 2) for:

- ``DCTWIN_ENGINE``: an unknown value, ``compiled`` without numba or on a run the compiled path cannot serve
  (``dctwin.cluster.engine_path.wanted_path``). A scenario's cluster never holds GPU-type pools: each platform
  of the site is a pool of its own, and a typed job log is split across them by each job's first type
  (``dctwin.cluster.stage``), so only the placement can rule the compiled path out here;
- a replayed job log asking for a GPU type no online pool has (``dctwin.cluster.stage.check_pool_types``);
- a disaggregated serving unit larger than a pool that serves it (``dctwin.workload.checks.check_serving_units``).
"""

from __future__ import annotations

import datetime as dt

from dctwin.config.scenario import Scenario

__all__ = ["check_runnable", "online_platforms"]


def online_platforms(scenario: Scenario) -> list:
    """The catalog platforms with racks online at some step of the span, in order of first appearance in the
    phases: the pools ``dctwin.buildout.installed_pools`` makes, without building their per-step series."""
    from dctwin.catalog import get_platform

    sim = scenario.simulation
    last_step = dt.datetime.combine(sim.start, dt.time()) + dt.timedelta(seconds=(sim.n_steps - 1) * sim.step_s)
    out: dict[str, object] = {}
    for phase in scenario.phases:
        if dt.datetime.combine(phase.start, dt.time()) > last_step:
            continue
        for group in phase.racks:
            if group.count > 0:
                platform = get_platform(group.platform)
                out.setdefault(platform.id, platform)
    return list(out.values())


def check_runnable(scenario: Scenario) -> None:
    """InputError for the first thing ``dctwin run`` would refuse once its stages start (see the module)."""
    from dctwin.cluster.engine_path import wanted_path
    from dctwin.cluster.stage import check_pool_types
    from dctwin.workload.checks import check_serving_units

    wanted_path(False, scenario.scheduler.placement)
    check_pool_types(scenario.workload, online_platforms(scenario))
    check_serving_units(scenario)
