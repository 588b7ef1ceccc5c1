"""CPU time of the serving-layout choice a run makes once per service and pool (``dctwin.perf.serving_layout``).

For each packaged scenario with inference services, in a fresh process: the layouts searched and the CPU the
automatic choice takes for every colocated service on every pool, after one MoE replica has been sized (so
scipy's import, which any MoE run pays anyway, is not counted). Run with the source to measure on the path:

    PYTHONPATH=src python benchmarks/serving_layout_search.py borlange-2027 air-cooled-hgx-tampa campus-600mw
"""

from __future__ import annotations

import sys
import time


def measure(name: str) -> str:
    from dctwin.config import load_scenario
    from dctwin.config.runnable import online_pools
    from dctwin.perf import inference_perf
    from dctwin.perf.models import get_model
    from dctwin.perf.params import packaged_perf_params
    from dctwin.perf.serving_layout import candidate_layouts, serving_layout_perf
    from dctwin.workload.inference import services

    sc = load_scenario(name)
    params = packaged_perf_params().for_serving_software(sc.workload.serving_software)
    rows = [(p, r) for p, _ in online_pools(sc) for _, r in services(sc.workload).iterrows()
            if not int(r["prefill_gpus"])]
    inference_perf(rows[0][0], "mixtral-8x7b", rows[0][0].scale_up_domain_gpus, "fp8")  # imports, scipy
    start = time.process_time()
    chosen = [serving_layout_perf(p, r["model"], "fp8", float(r["mean_input_tokens"]), float(r["mean_output_tokens"]),
                                  float(r["ttft_ms"]) / 1e3, float(r["tpot_ms"]) / 1e3, params=params)[0]
              for p, r in rows]
    cpu_ms = (time.process_time() - start) * 1e3
    n = sum(len(candidate_layouts(p, get_model(r["model"]), "fp8", params)) for p, r in rows)
    labels = ", ".join(sorted({c.label() for c in chosen}))
    return f"{name}: {len(rows)} service x pool, {n} layouts, {cpu_ms:.1f} ms CPU; chosen: {labels}"


if __name__ == "__main__":
    for scenario in sys.argv[1:] or ["borlange-2027"]:
        print(measure(scenario))
