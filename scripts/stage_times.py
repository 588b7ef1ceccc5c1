"""Seconds each stage of one run takes: wall time for the progress weights (dctwin.orchestrator.STAGE_COST_S),
or CPU time (``--cpu``) for a machine shared with other work.

Usage: ``python scripts/stage_times.py [--cpu] SCENARIO`` (a packaged name or a file); prints the time of
``dctwin.simulate`` (scenario checks included), each stage's start, time and share, and the peak resident
memory of the process. Whole-process figures come from ``/usr/bin/time -v`` around ``dctwin run``.
"""

import resource
import sys
import time

from dctwin.config import load_scenario
from dctwin.orchestrator import simulate


def main(ref: str, clock=time.perf_counter, unit: str = "s") -> None:
    starts: dict[str, float] = {}
    t0 = clock()
    simulate(load_scenario(ref), lambda stage, _fraction: starts.setdefault(stage, clock() - t0))
    total_s = clock() - t0
    print(f"{ref}: simulate {total_s:.2f} {unit}")
    names = list(starts)
    for a, b in zip(names, [*names[1:], None], strict=True):
        took_s = (starts[b] if b else total_s) - starts[a]
        print(f"  {a:12s} starts at {starts[a]:7.2f} {unit}, takes {took_s:7.2f} {unit} ({took_s / total_s:.1%})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    args = sys.argv[1:]
    cpu = "--cpu" in args
    refs = [a for a in args if a != "--cpu"]
    main(refs[0] if refs else "borlange-2027", time.process_time if cpu else time.perf_counter,
         "s CPU" if cpu else "s")
