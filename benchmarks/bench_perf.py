"""Cost of the performance model inside a year with 2 million jobs (issue 15: slows the year by <= 10%).

One year of ``campus-600mw`` (~194,000 GPUs, > 2 million jobs) runs twice in
fresh processes: as packaged (pre-training at a flat MFU) and with
``workload.training.pretrain.mfu: null``, so the performance model's layout
search sets the pre-training run time. In the second run every call into
``dctwin.perf`` (training layout search, inference roofline) is timed; the
figure is that CPU time over the run's CPU time. The perf model is called
per job class and pool, never per job (results are cached), so the share
stays small however many jobs the year has. Run:

    .venv/bin/pytest benchmarks/bench_perf.py --benchmark-only -p no:xdist -s
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

_CHILD = textwrap.dedent("""
    import json, sys, time
    import dctwin, dctwin.perf
    from dctwin.config import load_scenario, scenario_from_dict
    spent = [0.0, 0]

    def timed(fn):
        def wrap(*a, **k):
            c0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[0] += time.process_time() - c0
                spent[1] += 1
        return wrap

    dctwin.perf.training_perf = timed(dctwin.perf.training_perf)
    dctwin.perf.inference_perf = timed(dctwin.perf.inference_perf)
    doc = load_scenario(sys.argv[1]).model_dump(mode="json")
    if sys.argv[2] == "perf":
        doc["workload"]["training"]["pretrain"]["mfu"] = None
    scenario = scenario_from_dict(doc)
    c0 = time.process_time()
    result = dctwin.simulate(scenario)
    cpu_s = time.process_time() - c0
    print(json.dumps({"cpu_s": cpu_s, "perf_cpu_s": spent[0], "perf_calls": spent[1],
                      "jobs": len(result.tables["jobs"]), "layout": result.kpis.get("pretrain_layout", "")}))
""")


def _run(scenario: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, scenario, mode], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_perf_model_share_of_a_two_million_job_year(benchmark):
    flat = _run("campus-600mw", "flat")
    perf = benchmark.pedantic(_run, args=("campus-600mw", "perf"), rounds=1, iterations=1)
    share = perf["perf_cpu_s"] / perf["cpu_s"]
    benchmark.extra_info.update(flat_cpu_s=flat["cpu_s"], perf_cpu_s=perf["cpu_s"], perf_model_cpu_s=perf["perf_cpu_s"],
                                perf_calls=perf["perf_calls"], share=share, jobs=perf["jobs"])
    print(f"\ncampus-600mw year: flat MFU {flat['cpu_s']:.1f} s CPU ({flat['jobs']:,} jobs); perf model "
          f"{perf['cpu_s']:.1f} s CPU ({perf['jobs']:,} jobs), of which {perf['perf_cpu_s']:.2f} s in "
          f"{perf['perf_calls']} perf-model calls = {100 * share:.2f}%; layout: {perf['layout']}")
    assert perf["jobs"] >= 2_000_000
    assert share <= 0.10
