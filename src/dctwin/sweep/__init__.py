"""Scenario sweeps and Monte Carlo, on a local process pool or a Ray cluster."""

from dctwin.sweep.runner import SweepOutcome, SweepProgress, gather, run_sweep
from dctwin.sweep.spec import SweepSpec, expand_sweep, load_sweep

__all__ = ["run_sweep", "gather", "load_sweep", "expand_sweep", "SweepSpec", "SweepOutcome", "SweepProgress"]
