"""CPU seconds of each stage of one run (``time.process_time``), for a machine shared with other work.

    .venv/bin/python benchmarks/stage_cpu.py benchmarks/scenarios/frontier-year.yaml

Prints the CPU time of ``dctwin.simulate`` (scenario checks included) and of each stage, then the peak
resident memory of the process. Whole-process figures come from ``/usr/bin/time -v`` around ``dctwin run``.
"""

from __future__ import annotations

import resource
import sys
import time

from dctwin.config import load_scenario
from dctwin.orchestrator import simulate


def main(ref: str) -> None:
    starts: dict[str, float] = {}
    c0 = time.process_time()
    simulate(load_scenario(ref), lambda stage, _fraction: starts.setdefault(stage, time.process_time() - c0))
    total_s = time.process_time() - c0
    print(f"{ref}: simulate {total_s:.2f} s CPU")
    names = list(starts)
    for a, b in zip(names, [*names[1:], None], strict=True):
        took_s = (starts[b] if b else total_s) - starts[a]
        print(f"  {a:12s} {took_s:7.2f} s CPU")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "borlange-2027")
