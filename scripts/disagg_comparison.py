"""Colocated vs disaggregated serving on the packaged Azure LLM traces (request-level, one roofline).

Prints a Markdown table: latency percentiles, output tokens/s per GPU and IT energy per output token at
the trace's own rate, and the goodput (the largest request rate, trace sped up, at which 90% of requests
meet both the TTFT and TPOT targets; DistServe's measure) per GPU. Used for docs/models.md.

    PYTHONPATH=src python scripts/disagg_comparison.py [TPOT_MS]     (TPOT target, default 40 ms)
"""

from __future__ import annotations

import sys

import numpy as np

from dctwin.serving import Deployment, simulate_disaggregated, simulate_requests
from dctwin.serving.disagg import serving_energy
from dctwin.workload.traces import packaged_trace, read_azure_llm_trace

TTFT_S = 0.45                    # MLPerf Inference v5.0 interactive target (the scenario's default)
TPOT_S = float(sys.argv[1]) / 1e3 if len(sys.argv) > 1 else 0.04   # 40 ms: the same source
PLATFORM, MODEL, G = "hgx-h100", "llama-2-70b", 4
SETUPS = {"colocated 4 x TP4": (4, 0), "disaggregated 2 + 2 x TP4": (2, 2), "disaggregated 1 + 3 x TP4": (1, 3)}


def _run(setup: tuple[int, int], t, inp, out):
    """(requests frame, output tokens/s per GPU, J per output token) of one setup."""
    a, b = setup
    if b == 0:
        dep = Deployment(PLATFORM, MODEL, a, G)
        r = simulate_requests(dep, t, inp, out)
        return r.requests, out.sum() / r.span_s / dep.n_gpus, serving_energy(dep, r.busy_fraction, r.span_s) / out.sum()
    r = simulate_disaggregated(Deployment(PLATFORM, MODEL, a, G), Deployment(PLATFORM, MODEL, b, G), t, inp, out)
    return r.requests, r.tokens_per_s_per_gpu, r.energy_j_per_token


def _attained(req) -> float:
    ok = (req["ttft_s"] <= TTFT_S) & ((req["tpot_s"] <= TPOT_S) | req["tpot_s"].isna())
    return float(ok.mean())


def _goodput_per_gpu(setup, t, inp, out) -> float:
    """Largest speed-up k of the trace with >= 90% of requests within both targets, as requests/s per GPU."""
    def ok(k: float) -> bool:
        return _attained(_run(setup, t / k, inp, out)[0]) >= 0.9

    lo, hi = 1.0 / 16.0, 64.0
    if not ok(lo):
        return 0.0
    if ok(hi):
        lo = hi
    for _ in range(8):                        # bisection in log space: k within 2% of the edge
        if hi / lo < 1.02:
            break
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    rate = len(t) / (t[-1] - t[0])
    return lo * rate / (sum(setup) * G)


def main() -> int:
    print("| trace | setup | TTFT p50 / p90 [ms] | TPOT p50 / p99 [ms] | output tokens/s per GPU | IT energy per output"
          " token [J] | goodput at 90% SLO [req/s per GPU] |")
    print("|---|---|---|---|---|---|---|")
    for trace in ("conv", "code"):
        df = read_azure_llm_trace(packaged_trace(f"AzureLLMInferenceTrace_{trace}.csv.gz"))
        t, inp, out = (df[c].to_numpy() for c in ("t_s", "input_tokens", "output_tokens"))
        for name, setup in SETUPS.items():
            req, tok_gpu, j_tok = _run(setup, t, inp, out)
            ttft, tpot = req["ttft_s"].to_numpy(), req["tpot_s"].to_numpy()
            p = np.nanpercentile
            print(f"| {trace} | {name} | {1e3 * p(ttft, 50):.0f} / {1e3 * p(ttft, 90):.0f}"
                  f" | {1e3 * p(tpot, 50):.1f} / {1e3 * p(tpot, 99):.1f} | {tok_gpu:.0f}"
                  f" | {j_tok:.1f} | {_goodput_per_gpu(setup, t, inp, out):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
