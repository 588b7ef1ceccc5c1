"""Which path runs the cluster engine: pure Python (the reference) or compiled (numba).

The compiled path runs the whole event loop in the core (``cluster/core``) when the run uses only what the
core has (FIFO or EASY backfill, the topology placement, no gang rule, one GPU type: ``core_serves``); other
compiled runs keep the Python loop with the domain bookkeeping in numba kernels (``placement/compiled.py``).
Both give byte-identical results to the Python path (tests/test_engine_paths.py) but cost numba's import and
the compiled code's load from the on-disk cache (or its compile, the first time on a machine), so they are
chosen only where that pays:

- environment variable ``DCTWIN_ENGINE``: ``auto`` (default), ``python`` or ``compiled``; any other value
  is refused (exit code 2), and so is ``compiled`` on a run it cannot serve (GPU-type pools in one
  cluster, the first_fit placement).
- ``auto``: compiled when numba is installed (extra ``dctwin[compiled]``), the cluster has one GPU type and
  the topology placement, and the run is large enough: ``COMPILED_MIN_JOBS`` jobs or more where the core
  serves it, else ``COMPILED_MIN_DOMAIN_DAYS`` scale-up-domain-days (domains online at most x simulated
  days) for the kernels alone. Else Python (same results, only slower on large runs). ``compiled`` without
  numba is refused with the extra to install. A small run (and ``dctwin --help``) never imports numba.
"""

from __future__ import annotations

import importlib.util
import os

from dctwin.errors import InputError
from dctwin.extras import require

__all__ = ["COMPILED_MIN_DOMAIN_DAYS", "COMPILED_MIN_JOBS", "ENV", "PATHS", "choose", "core_serves", "wanted_path"]

ENV = "DCTWIN_ENGINE"
PATHS = ("auto", "python", "compiled")
# Break-even of the compiled path, measured 6 Dec 2026 07:44-07:57 UTC (BENCHMARKS.md sections 3 and 16,
# CPU time, load 4-8). Its fixed cost (numba's import and the cached kernels' load) is ~0.9 s CPU. Net of
# it, the Frontier-sized cluster (4,736 domains) gains 0.8 s CPU median over its year (1.73 M domain-days,
# whole process 25.2 -> 24.4 s, three runs each), loses 0.3 s over 14 days (66,304) and is within noise
# at 30 and 60 days (142,080 and 284,160); the 600 MW campus (2,500 NVL72 domains, 912,500 domain-days)
# gains 0.8-1.9 s; borlange-2027's year (100 domains, 36,500) loses ~1.4 s. The break-even lies between
# 284,160 and 912,500 domain-days; any value there changes only which of two identical-result paths runs.
COMPILED_MIN_DOMAIN_DAYS = 400_000
# Break-even of the core, measured 6 Dec 2026 09:40 UTC (CPU time of the whole simulation, load ~6): its
# fixed cost (numba's import, the cached core's load, packing the job table) is ~0.6-0.9 s CPU; borlange-2027
# over 14 / 30 / 60 days (~8,000 / 18,000 / 35,350 jobs) ran 1.20 / 1.45 / 1.58 s in Python and 1.64 / 1.53 /
# 1.88 s compiled, its year (216,838 jobs) 4.8 s against 2.0 s. Any value between the two sizes changes only
# which of two identical-result paths runs.
COMPILED_MIN_JOBS = 50_000


def choose(domains: int, days: float, typed: bool, placement: str, jobs: int = 0, core: bool = False) -> str:
    """'python' or 'compiled' for a run with at most ``domains`` scale-up domains online over ``days``
    simulated days and ``jobs`` jobs (``typed``: GPU-type pools in one cluster; ``placement``: the scheduler's
    placement; ``core``: the compiled core serves the run, ``core_serves``)."""
    want = wanted_path(typed, placement)
    if want == "auto":
        ok = not typed and placement == "topology" and numba_installed()
        big = jobs >= COMPILED_MIN_JOBS if core else domains * days >= COMPILED_MIN_DOMAIN_DAYS
        return "compiled" if ok and big else "python"
    return want


def wanted_path(typed: bool, placement: str) -> str:
    """The path ``DCTWIN_ENGINE`` asks for ('auto', 'python' or 'compiled'); InputError for an unknown value, and
    for 'compiled' on a run it cannot serve (``typed``: GPU-type pools in one cluster; a ``placement`` other than
    topology) or without numba. The run (``choose``) and ``dctwin.config.runnable`` (before a run's first stage
    and in ``scenario validate``) both refuse through here."""
    raw = os.environ.get(ENV, "auto")
    want = raw.strip().lower() or "auto"
    if want not in PATHS:
        raise InputError("unknown engine path", field=ENV, value=raw, allowed=", ".join(PATHS))
    if want == "compiled" and typed:
        raise InputError("the compiled engine path has no GPU-type pools (one cluster holding several GPU types)",
                         field=ENV, value="compiled", allowed="python, auto")
    if want == "compiled" and placement != "topology":
        raise InputError(f"the compiled engine path has the topology placement only, not {placement}",
                         field=ENV, value="compiled", allowed="python, auto")
    if want == "compiled":
        require("numba", "the compiled engine path (DCTWIN_ENGINE=compiled)")
    return want


def numba_installed() -> bool:
    """Whether numba (extra ``compiled``) can be imported, without importing it."""
    return importlib.util.find_spec("numba") is not None


def core_serves(policy: str, gang: str, job_types, place) -> bool:
    """The compiled core (``cluster/core``) has everything such a run uses: FIFO or EASY backfill, the topology
    placement, no gang rule, one GPU type. Other runs on the compiled path keep the Python loop with the
    domain kernels (``placement/compiled.py``)."""
    from dctwin.cluster.placement import topology

    return policy in ("fifo", "easy_backfill") and gang != "domain" and job_types is None and place is topology.place
