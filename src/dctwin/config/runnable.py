"""What a run refuses before its first stage; ``dctwin scenario validate`` refuses the same through this one check.

``check_runnable`` raises InputError (exit code 2) for:

- ``DCTWIN_ENGINE``: an unknown value, ``compiled`` without numba or on a run the compiled path cannot serve
  (``dctwin.cluster.engine_path.wanted_path``). A scenario's cluster never holds GPU-type pools: each platform
  of the site is a pool of its own, and a typed job log is split across them by each job's first type
  (``dctwin.cluster.stage``), so only the placement can rule the compiled path out here;
- a replayed job log asking for a GPU type no online pool has (``dctwin.cluster.stage.check_pool_types``);
- a disaggregated serving unit larger than a pool that serves it (``dctwin.workload.checks.check_serving_units``),
  or a replica or unit that cannot meet its service's latency targets on a pool
  (``dctwin.cluster.inference.check_service_units``);
- a pre-training job class the run cannot size on a pool: a fixed layout larger than the pool's training GPUs,
  a layout, batch or schedule the performance model refuses (mfu: null), a precision the GPU lacks
  (``dctwin.workload.jobs``: the functions the run's job generation calls, with the same GPU counts).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from dctwin.config.scenario import Scenario
from dctwin.errors import InputError

if TYPE_CHECKING:
    from dctwin.perf.params import PerfParams

__all__ = ["check_runnable", "online_pools"]


def online_pools(scenario: Scenario) -> list[tuple[object, int]]:
    """(catalog platform, most GPUs online) of each platform with racks online at some step of the span, in order
    of first appearance in the phases: the pools ``dctwin.buildout.installed_pools`` makes, without building
    their per-step series."""
    from dctwin.catalog import get_platform

    sim = scenario.simulation
    last_step = dt.datetime.combine(sim.start, dt.time()) + dt.timedelta(seconds=(sim.n_steps - 1) * sim.step_s)
    units: dict[str, list] = {}
    for phase in scenario.phases:
        if dt.datetime.combine(phase.start, dt.time()) > last_step:
            continue
        for group in phase.racks:
            platform = get_platform(group.platform)
            units.setdefault(platform.id, [platform, 0])[1] += group.count
    return [(p, n * p.gpus_per_unit) for p, n in units.values() if n > 0]


def check_runnable(scenario: Scenario, source: str | None = None, perf: PerfParams | None = None) -> None:
    """InputError for the first thing ``dctwin run`` would refuse once its stages start (see the module);
    ``source``: the scenario's file, named in the message of a refused scenario field; ``perf``: the run's
    performance constants (None: the packaged ones), so the check sizes services and runs as the stages will."""
    from dctwin.cluster.engine_path import wanted_path
    from dctwin.cluster.stage import check_pool_types
    from dctwin.workload.checks import check_serving_units

    wanted_path(False, scenario.scheduler.placement)
    pools = online_pools(scenario)
    check_pool_types(scenario.workload, [p for p, _ in pools])
    try:
        check_serving_units(scenario)
        _check_services(scenario, pools, perf)
        _check_pretrain(scenario, pools, perf)
    except InputError as exc:
        if exc.file is not None or source is None:
            raise
        raise InputError(exc.problem, file=source, field=exc.field, value=exc.value, allowed=exc.allowed) from None


def _check_services(scenario: Scenario, pools: list[tuple[object, int]], perf: PerfParams | None) -> None:
    """Size one replica (or disaggregated unit) of each inference service on each pool, as the run does (at the
    scenario's serving stack, as ``stages.chain.run_stages`` applies it)."""
    if not scenario.workload.inference:
        return
    from dctwin.cluster.inference import check_service_units
    from dctwin.perf.params import packaged_perf_params
    from dctwin.workload.inference import services

    table = services(scenario.workload)
    perf = (perf or packaged_perf_params()).for_serving_software(scenario.workload.serving_software)
    for platform, gpus in pools:
        check_service_units(table, platform, params=perf, pool_gpus=int(gpus))


def _check_pretrain(scenario: Scenario, pools: list[tuple[object, int]], perf: PerfParams | None) -> None:
    """Size one pre-training run on each pool as ``dctwin.workload.jobs.generate_jobs`` does."""
    from dctwin.workload.jobs import pretrain_gpus, pretrain_perf, pretrain_run_duration_s

    wl = scenario.workload
    tr, pre = wl.training, wl.training.pretrain
    if wl.jobs_path is not None or pre.share_of_training <= 0:
        return
    for platform, gpus in pools:
        train_gpus = tr.share_of_gpus * gpus
        if train_gpus * tr.mean_utilisation <= 0:
            continue
        g = pretrain_gpus(platform, pre, max(1, math.floor(train_gpus)))
        if g >= 1:
            used = pretrain_perf(platform, pre, g, params=perf).gpus_used if pre.mfu is None else g
            pretrain_run_duration_s(platform, pre, used, params=perf)
