"""Compile the engine core once, ahead of the first large run: ``python -m dctwin.cluster.core.warm``.

numba keeps the machine code in the package's ``__pycache__`` (or its user cache when that is read-only, or
``NUMBA_CACHE_DIR``), so only the first compiled run on a machine pays the compile (~21 s CPU on a quiet
machine, up to ~36 s under load); ``make``'s install step runs this so that ``make run`` and ``make test`` start
warm. A tiny two-day run on the compiled path is enough: every run has the same argument types (``core/run.py``
casts them). A run that finds the cache cold says so first (``announce_compile``: one line on stderr, none
with ``--quiet``), instead of sitting silent for half a minute.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import numpy as np

COMPILE_NOTE = ("compiling the engine core once, about 30 s (numba; later runs load it from its cache, "
                "`python -m dctwin.cluster.core.warm` does it ahead) ...")


def cache_cold(dispatcher, args: tuple) -> bool:
    """Whether calling ``dispatcher`` (a numba ``cache=True`` function) with ``args`` compiles: no machine code
    for their types in this process nor in numba's on-disk cache (same key as numba's own lookup, including the
    core's source stamp, ``stamp.cover_sources``). False where numba's internals differ: unknown, say nothing.

    The same private numba cache internals as ``stamp`` (the one documented exception, numba pinned);
    tests/test_engine_core.py fails if they go, so the notice is not silenced unnoticed."""
    try:
        types = tuple(dispatcher.typeof_pyval(a) for a in args)
        if types in dispatcher.overloads:
            return False
        cache = dispatcher._cache
        key = cache._index_key(types, dispatcher.targetctx.codegen())
        return key not in cache._cache_file._load_index()
    except Exception:  # a notice only: numba's own lookup reports a damaged cache
        return False


def announce_compile(*calls: tuple) -> None:
    """``COMPILE_NOTE`` (``dctwin.progress.notice``) when any ``(dispatcher, args)`` call would compile."""
    if any(cache_cold(d, args) for d, args in calls):
        from dctwin.progress import notice

        notice(COMPILE_NOTE)


def main() -> None:
    from dctwin.catalog import get_platform
    from dctwin.cluster import engine_path, simulate_cluster
    from dctwin.cluster.synthetic import synthetic_jobs
    from dctwin.config.cluster import SchedulerConfig
    from dctwin.timeline import Timeline

    os.environ[engine_path.ENV] = "compiled"
    t0 = time.process_time()
    tl = Timeline(dt.date(2027, 1, 1), 900, 2 * 96)
    online = np.full(tl.n_steps, 144)
    jobs = synthetic_jobs(50, 144, 2 * 86_400.0, seed=1)
    cfg = SchedulerConfig(failures={"rate_scale": 100.0})
    simulate_cluster(cfg, tl, online, get_platform("vr-nvl72"), jobs, online * 0.2, 1, gpu_cap=online)
    print(f"engine core compiled or loaded in {time.process_time() - t0:.1f} s CPU")


if __name__ == "__main__":
    main()
