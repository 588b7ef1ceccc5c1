"""Fluid replica sizing, checked request by request against the Azure LLM inference trace.

Azure LLM inference trace, conversation, one hour of Nov 2023 (Patel et al.,
'Splitwise', ISCA 2024; Azure Public Dataset, CC BY 4.0), as packaged by
``dctwin.workload``. The replica's batch and per-token time come from
``dctwin.perf.inference_perf`` for Mistral Large 2 on Vera Rubin.
"""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.cluster.inference import replicas_needed, request_level_check
from dctwin.errors import InputError

TTFT_TARGET_S = 2.0
TPOT_TARGET_S = 0.05
SPEEDUP = 10     # replay the hour 10x faster (~55 req/s) so several replicas are needed


@pytest.fixture(scope="module")
def trace_and_perf():
    from dctwin.perf import inference_perf
    from dctwin.workload.traces import packaged_trace, read_azure_llm_trace

    tr = read_azure_llm_trace(packaged_trace("AzureLLMInferenceTrace_conv.csv.gz"))
    perf = inference_perf(get_platform("vr-nvl72"), "mistral-large-2", 72, "fp8", tr["input_tokens"].mean(),
                          tr["output_tokens"].mean(), ttft_target_s=TTFT_TARGET_S, tpot_target_s=TPOT_TARGET_S)
    return tr, perf


def test_replicas_needed_rounds_up_with_headroom():
    np.testing.assert_array_equal(replicas_needed([0, 7.9, 8.1, 80], 10, 0.8), [1, 1, 2, 10])
    with pytest.raises(InputError, match="target_utilisation"):
        replicas_needed([1.0], 10, 1.5)


def test_fluid_sizing_meets_latency_on_the_azure_trace(trace_and_perf):
    tr, perf = trace_and_perf
    t = tr["t_s"].to_numpy() / SPEEDUP
    rate = len(t) / (t[-1] - t[0])
    per_replica_req_s = perf.requests_per_s / perf.replicas
    reps = int(replicas_needed(np.array([rate]), per_replica_req_s, 0.8)[0])
    assert reps >= 3
    service_s = perf.ttft_s + tr["output_tokens"].to_numpy() * perf.tpot_s
    chk = request_level_check(t, service_s, reps, perf.batch_size)
    # the fluid model's load estimate agrees with the replay, and the queue adds little to TTFT
    assert chk["measured_utilisation"] == pytest.approx(chk["fluid_utilisation"], rel=0.1)
    assert chk["fluid_utilisation"] <= 0.8
    assert chk["wait_p99_s"] + perf.ttft_s <= TTFT_TARGET_S
    # one replica fewer than half of that is overloaded: requests queue far beyond the target
    over = request_level_check(t, service_s, max(1, reps // 2 - 1), perf.batch_size)
    assert over["wait_p99_s"] > TTFT_TARGET_S
