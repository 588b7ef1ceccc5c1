"""Checks of a scenario's workload against its GPUs, for `dctwin scenario validate`: the biggest job and spares.

A job that needs every GPU of its pool has no room for a failed node: with no
hot spares (``scheduler.failures.spare_fraction`` = 0) each node failure stalls it
until the node is repaired. A job larger than the pool, or than the GPUs outside
the spares, never starts.
"""

from __future__ import annotations

import numpy as np

from dctwin.catalog import get_platform

__all__ = ["big_job_warnings", "check_profiles", "check_serving_units"]


def _pool_gpus(scenario) -> dict[str, tuple[int, int]]:
    """platform id -> (GPUs installed at the end of the build-out, scale-up domain [GPUs])."""
    out: dict[str, list[int]] = {}
    for phase in scenario.phases:
        for group in phase.racks:
            p = get_platform(group.platform)
            out.setdefault(p.id, [0, int(p.scale_up_domain_gpus)])[0] += group.count * p.gpus_per_unit
    return {k: (v[0], v[1]) for k, v in out.items()}


def _largest_job(scenario, pool_gpus: int, domain: int) -> tuple[int, str]:
    """(GPUs, what) of the largest job the workload puts on a pool of ``pool_gpus``."""
    wl = scenario.workload
    if wl.jobs_path is not None:
        from dctwin.workload.traces import read_job_table

        jobs = read_job_table(wl.jobs_path)
        return (int(jobs["gpus"].max()) if len(jobs) else 0), f"the largest job of {wl.jobs_path.name}"
    tr = wl.training
    cap = max(1, int(np.floor(tr.share_of_gpus * pool_gpus)))
    g = min(tr.pretrain.gpus, cap) if tr.pretrain.share_of_training > 0 else 0
    g = (g // domain) * domain if g >= domain else g
    return max(g, min(tr.dev.max_gpus, cap)), "the largest pre-training or development job"


def big_job_warnings(scenario) -> list[str]:
    """One line per pool whose largest job needs all of its GPUs (or more) while no spares are held."""
    spare = scenario.scheduler.failures.spare_fraction
    lines = []
    for pid, (gpus, domain) in _pool_gpus(scenario).items():
        if gpus <= 0:
            continue
        need, what = _largest_job(scenario, gpus, domain)
        usable = int(np.floor(gpus * (1.0 - spare)))
        if need > gpus:
            lines.append(f"{what} needs {need:,} GPUs but the {pid} pool has {gpus:,}: it never starts")
        elif need > usable:
            lines.append(f"{what} needs {need:,} GPUs but only {usable:,} of the {gpus:,} {pid} GPUs are outside "
                         f"the hot spares (spare_fraction {spare:g}): it never starts")
        elif need >= usable and spare == 0:
            lines.append(f"{what} needs {need:,} of the {gpus:,} {pid} GPUs with no hot spares "
                         "(scheduler.failures.spare_fraction = 0): every node failure stalls it until the node "
                         "is repaired; hold spares or lower workload.training.pretrain.gpus / share_of_gpus")
    return lines


def check_profiles(scenario) -> None:
    """Read every profile file the scenario names (development jobs, scheduler latency, inference services) as
    the run would: ``scenario validate`` refuses a profile the run would refuse."""
    from dctwin.workload.inference import _service_profile
    from dctwin.workload.profile_gen import load_profile

    for path in (scenario.workload.training.dev.profile_path, scenario.scheduler.latency_path):
        if path is not None:
            load_profile(path)
    for svc in scenario.workload.inference:
        _service_profile(svc)


def check_serving_units(scenario) -> None:
    """InputError for a disaggregated serving unit (prefill + decode GPUs) larger than a pool it is served in.

    Every pool takes a share of each service's demand and holds whole units; a unit that does not fit a pool at
    the end of the build-out can never be placed there (a 4,096 + 4,096 unit on 7,200 GPUs was run on 3,600 +
    3,600 GPUs, reported all demand served and took every training GPU).
    """
    from dctwin.errors import InputError

    for i, svc in enumerate(scenario.workload.inference):
        d = svc.disaggregated
        if d is None:
            continue
        for pid, (gpus, _) in _pool_gpus(scenario).items():
            if gpus > 0 and d.prefill_gpus + d.decode_gpus > gpus:
                raise InputError(f"a serving unit of {d.prefill_gpus:,} prefill + {d.decode_gpus:,} decode GPUs does "
                                 f"not fit the {gpus:,} GPUs of the {pid} pool", field=f"workload.inference[{i}]."
                                 "disaggregated", value=f"{d.prefill_gpus} + {d.decode_gpus}",
                                 allowed=f"prefill_gpus + decode_gpus of at most {gpus:,} (the smallest pool)")
