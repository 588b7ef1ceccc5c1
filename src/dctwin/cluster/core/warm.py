"""Compile the engine core once, ahead of the first large run: ``python -m dctwin.cluster.core.warm``.

numba keeps the machine code in the package's ``__pycache__`` (or its user cache when that is read-only),
so only the first compiled run on a machine pays the compile (~21 s CPU); ``make``'s install step runs
this so that ``make run`` and ``make test`` start warm. A tiny two-day run on the compiled path is enough:
every run has the same argument types (``core/run.py`` casts them).
"""

from __future__ import annotations

import datetime as dt
import os
import time

import numpy as np


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
