"""Which path runs the cluster engine's domain bookkeeping: pure Python (the reference) or numba kernels.

The compiled path (``placement/compiled.py``: placements, releases, inference grants and give-backs as
numba kernels on one array) gives byte-identical results (tests/test_engine_paths.py) but costs numba's
import and the kernels' load from the on-disk cache (or their compile, the first time on a machine), so
it is chosen only where that pays:

- environment variable ``DCTWIN_ENGINE``: ``auto`` (default), ``python`` or ``compiled``; any other value
  is refused (exit code 2), and so is ``compiled`` on a run it cannot serve (GPU-type pools in one
  cluster, the first_fit placement).
- ``auto``: compiled when numba is installed (extra ``dctwin[compiled]``), the run's size, scale-up domains
  online at most x simulated days, is ``COMPILED_MIN_DOMAIN_DAYS`` or more, the cluster has one GPU type and
  the topology placement; else Python (same results, only slower on large runs). ``compiled`` without numba
  is refused with the extra to install. A small run (and ``dctwin --help``) never imports numba.

The kernels' gain grows with the number of domains (inference is granted and given back in pieces of one
domain each, and a large job spans many small domains), not with GPUs: a 7,200-GPU year in 100 NVL72
domains runs slower compiled, a 37,888-GPU year in 4,736 8-GPU domains faster.
"""

from __future__ import annotations

import importlib.util
import os

from dctwin.errors import InputError
from dctwin.extras import require

__all__ = ["COMPILED_MIN_DOMAIN_DAYS", "ENV", "PATHS", "choose"]

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


def choose(domains: int, days: float, typed: bool, placement: str) -> str:
    """'python' or 'compiled' for a run with at most ``domains`` scale-up domains online over ``days``
    simulated days (``typed``: GPU-type pools in one cluster; ``placement``: the scheduler's placement)."""
    want = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if want not in PATHS:
        raise InputError("unknown engine path", field=ENV, value=os.environ.get(ENV), allowed=", ".join(PATHS))
    if want == "compiled" and typed:
        raise InputError("the compiled engine path has no GPU-type pools (one cluster holding several GPU types)",
                         field=ENV, value="compiled", allowed="python, auto")
    if want == "compiled" and placement != "topology":
        raise InputError(f"the compiled engine path has the topology placement only, not {placement}",
                         field=ENV, value="compiled", allowed="python, auto")
    if want == "compiled":
        require("numba", "the compiled engine path (DCTWIN_ENGINE=compiled)")
    if want == "auto":
        ok = not typed and placement == "topology" and numba_installed()
        return "compiled" if ok and domains * days >= COMPILED_MIN_DOMAIN_DAYS else "python"
    return want


def numba_installed() -> bool:
    """Whether numba (extra ``compiled``) can be imported, without importing it."""
    return importlib.util.find_spec("numba") is not None
