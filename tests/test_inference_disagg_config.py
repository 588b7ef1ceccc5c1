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


def test_a_serving_unit_larger_than_the_pool_is_refused(tmp_path):
    # 4,096 + 4,096 GPUs per unit on 7,200 GPUs: the run put 3,600 + 3,600 GPUs in a unit that cannot exist,
    # reported all demand served and took every training GPU, exit 0
    import subprocess
    import sys

    sc = tmp_path / "s.yaml"
    body = ("extends: borlange-2027\nsimulation: {{duration_days: 1}}\nworkload:\n  inference:\n  - model: "
            "mistral-large-2\n    peak_requests_per_s: 1000\n"
            "    disaggregated: {{prefill_gpus: {p}, decode_gpus: {d}}}\n")
    sc.write_text(body.format(p=4096, d=4096))
    for cmd in (["scenario", "validate", str(sc)], ["run", str(sc), "-o", str(tmp_path / "r"), "-q", "--no-report"]):
        r = subprocess.run([sys.executable, "-m", "dctwin", *cmd], capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "workload.inference[0].disaggregated" in r.stderr, r.stderr
        assert "does not fit the 7,200 GPUs of the vr-nvl72 pool" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r").exists()
    sc.write_text(body.format(p=3600, d=3600))  # the largest unit that fits is accepted
    r = subprocess.run([sys.executable, "-m", "dctwin", "scenario", "validate", str(sc)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
