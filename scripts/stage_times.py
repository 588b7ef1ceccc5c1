"""Seconds each stage of one run takes, for the progress weights (dctwin.orchestrator.STAGE_COST_S).

Usage: ``python scripts/stage_times.py SCENARIO`` (a packaged name or a file); prints each stage's start
and its share of the run's time.
"""

import sys
import time

from dctwin.config import load_scenario
from dctwin.orchestrator import simulate


def main(ref: str) -> None:
    starts: dict[str, float] = {}
    t0 = time.perf_counter()
    simulate(load_scenario(ref), lambda stage, _fraction: starts.setdefault(stage, time.perf_counter() - t0))
    total = time.perf_counter() - t0
    print(f"{ref}: {total:.1f} s")
    names = list(starts)
    for a, b in zip(names, [*names[1:], None], strict=True):
        took = (starts[b] if b else total) - starts[a]
        print(f"  {a:10s} starts at {starts[a]:7.1f} s, takes {took:7.1f} s ({took / total:.1%})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "borlange-2027")
