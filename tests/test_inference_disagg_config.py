"""A disaggregated inference service in the scenario: sized in prefill + decode units from the one roofline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from dctwin.catalog import get_platform
from dctwin.cluster.inference import inference_gpus_needed
from dctwin.config.workload import WorkloadConfig
from dctwin.errors import InputError
from dctwin.perf import disaggregated_perf
from dctwin.workload import services

H100 = get_platform("hgx-h100")


def _workload(**svc) -> WorkloadConfig:
    base = {"model": "llama-2-70b", "peak_requests_per_s": 5.0, "ttft_ms": 2000.0, "tpot_ms": 60.0}
    base.update(svc)
    return WorkloadConfig.model_validate({"inference": [base]})


def test_disaggregated_service_sized_in_units_of_each_pool():
    """Each pool gets the units its own load needs: prompts for the prefill pool, tokens for the decode pool."""
    svcs = services(_workload(disaggregated={"prefill_gpus": 4, "decode_gpus": 4}))
    row = svcs.loc["llama-2-70b"]
    assert (row["prefill_gpus"], row["decode_gpus"]) == (4, 4)
    out = np.array([0.0, 5_000.0, 50_000.0])
    need = inference_gpus_needed(pd.DataFrame({"llama-2-70b__output_tokens_per_s": out}), svcs, H100)
    unit = disaggregated_perf(H100, "llama-2-70b", 4, 4, "fp8", row["mean_input_tokens"], row["mean_output_tokens"],
                              tpot_target_s=0.06)
    prompts = out / row["mean_output_tokens"]
    n_pre = np.maximum(np.ceil(prompts / (min(unit.prefill_requests_per_s, unit.kv_requests_per_s) * 0.8)), 1)
    n_dec = np.maximum(np.ceil(out / (unit.decode_tokens_per_s * 0.8)), 1)
    assert need["llama-2-70b__prefill_units"].tolist() == n_pre.tolist()
    assert need["llama-2-70b__decode_units"].tolist() == n_dec.tolist()
    assert need["llama-2-70b__gpus"].tolist() == (4 * (n_pre + n_dec)).tolist()
    # never more than units of the fixed 4 + 4 pair sized by the slower of its pools
    pairs = np.maximum(np.ceil(out / (unit.tokens_per_s * 0.8)), 1) * 8
    assert np.all(need["llama-2-70b__gpus"].to_numpy() <= pairs) and need["llama-2-70b__gpus"].iloc[-1] < pairs[-1]
    colocated = inference_gpus_needed(pd.DataFrame({"llama-2-70b__output_tokens_per_s": out}),
                                      services(_workload()), H100)
    assert colocated["gpus_needed"].iloc[-1] > 0 and services(_workload()).loc["llama-2-70b", "prefill_gpus"] == 0


def test_unit_missing_the_ttft_target_is_refused():
    svcs = services(_workload(ttft_ms=1.0, disaggregated={"prefill_gpus": 1, "decode_gpus": 7}))
    demand = pd.DataFrame({"llama-2-70b__output_tokens_per_s": [1000.0]})
    with pytest.raises(InputError, match="first token"):
        inference_gpus_needed(demand, svcs, H100)


def test_pool_sizes_checked():
    with pytest.raises(ValidationError):
        _workload(disaggregated={"prefill_gpus": 0, "decode_gpus": 4})
    with pytest.raises(ValidationError):
        _workload(disaggregated={"prefill_gpus": 2})
