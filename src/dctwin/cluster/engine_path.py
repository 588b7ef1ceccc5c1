"""Which path runs the cluster engine's domain bookkeeping: pure Python (the reference) or numba kernels.

The compiled path (``placement/compiled.py``: placements, releases, inference grants and give-backs as
numba kernels on one array) gives byte-identical results (tests/test_engine_paths.py) but costs numba's
import and the kernels' load from the on-disk cache (or their compile, the first time on a machine), so
it is chosen only where that pays:

- environment variable ``DCTWIN_ENGINE``: ``auto`` (default), ``python`` or ``compiled``; any other value
  is refused (exit code 2), and so is ``compiled`` on a run it cannot serve (GPU-type pools in one
  cluster, the first_fit placement).
- ``auto``: compiled when the run's size (most GPUs online x simulated days) is ``COMPILED_MIN_GPU_DAYS``
  or more, the cluster has one GPU type and the topology placement; else Python. A small run (and
  ``dctwin --help``) never imports numba.
"""

from __future__ import annotations

import os

from dctwin.errors import InputError

__all__ = ["COMPILED_MIN_GPU_DAYS", "ENV", "PATHS", "choose"]

ENV = "DCTWIN_ENGINE"
PATHS = ("auto", "python", "compiled")
# Break-even of the compiled path, measured on this project's benchmark machine (BENCHMARKS.md section 16):
# numba's import plus the cached kernels' load cost ~0.4-0.6 s CPU; the kernels save about 1 s CPU per
# ~1 M GPU-days of cluster run. Below 200,000 GPU-days (e.g. a 2,000-GPU site for 100 days) the saving
# is under the fixed cost, so the Python path runs. Not a tuned figure: any value between ~1e5 and ~1e6
# changes only which of two identical-result paths runs.
COMPILED_MIN_GPU_DAYS = 200_000


def choose(max_gpus: int, days: float, typed: bool, placement: str) -> str:
    """'python' or 'compiled' for a run with at most ``max_gpus`` GPUs online over ``days`` simulated days
    (``typed``: GPU-type pools in one cluster; ``placement``: the scheduler's placement policy)."""
    want = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if want not in PATHS:
        raise InputError("unknown engine path", field=ENV, value=os.environ.get(ENV), allowed=", ".join(PATHS))
    if want == "compiled" and typed:
        raise InputError("the compiled engine path has no GPU-type pools (one cluster holding several GPU types)",
                         field=ENV, value="compiled", allowed="python, auto")
    if want == "compiled" and placement != "topology":
        raise InputError(f"the compiled engine path has the topology placement only, not {placement}",
                         field=ENV, value="compiled", allowed="python, auto")
    if want == "auto":
        ok = not typed and placement == "topology"
        return "compiled" if ok and max_gpus * days >= COMPILED_MIN_GPU_DAYS else "python"
    return want
