"""Inference profiles from request and QPS logs: token mixtures, shape only when the log is long enough."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dctwin.config.workload import InferenceServiceConfig, WorkloadConfig
from dctwin.errors import InputError
from dctwin.timeline import Timeline
from dctwin.workload.inference import inference_demand, services
from dctwin.workload.inference_fit import fit_inference_profile, lognormal_mixture
from dctwin.workload.traces import packaged_trace, read_azure_llm_trace


@pytest.mark.parametrize("name", ["code", "conv"])
def test_azure_request_log(name):
    path = packaged_trace(f"AzureLLMInferenceTrace_{name}.csv.gz")
    doc = fit_inference_profile(path)
    req = read_azure_llm_trace(path)
    assert doc["requests_per_s"] == pytest.approx(len(req) / req["t_s"].max(), rel=0.01)
    assert doc["peak_to_trough"] is None and "no daily or weekly shape" in doc["notes"][0]  # one hour only
    for col in ("input_tokens", "output_tokens"):
        t = doc["tokens"][col]
        assert t["model"]["mean"] == pytest.approx(req[col].mean(), rel=0.10)
        assert t["log"]["mean"] == pytest.approx(req[col].mean(), rel=1e-9)
        for q in ("p50", "p90"):
            assert t["model"][q] == pytest.approx(t["log"][q], rel=0.2)
    cv = doc["bursts"]["interarrival_cv"]
    assert cv > 1.0  # both traces are burstier than Poisson


def test_mixture_recovers_two_components():
    rng = np.random.default_rng(0)
    x = np.exp(np.r_[rng.normal(4.0, 0.3, 30_000), rng.normal(7.0, 0.5, 70_000)])
    m = lognormal_mixture(x)
    assert len(m["weights"]) == 2
    assert m["weights"] == pytest.approx([0.3, 0.7], abs=0.01)
    assert m["log_mu"] == pytest.approx([4.0, 7.0], abs=0.02)
    assert m["log_sigma"] == pytest.approx([0.3, 0.5], abs=0.02)


def _qps_log(path, days=21, ratio=3.0, peak_hour=14, weekend=0.6):
    t = pd.date_range("2024-01-01", periods=days * 24, freq="h")  # a Monday
    a = (ratio - 1) / (ratio + 1)
    h = t.hour.to_numpy()
    rate = 1000 * (1 + a * np.cos(2 * np.pi * (h - peak_hour) / 24)) * np.where(t.day_of_week >= 5, weekend, 1.0)
    pd.DataFrame({"timestamp": t.strftime("%Y-%m-%d %H:%M:%S"), "requests": np.round(rate)}).to_csv(path, index=False)
    return path


def test_qps_log_shape(tmp_path):
    doc = fit_inference_profile(_qps_log(tmp_path / "qps.csv"))
    assert doc["peak_hour"] == 14 and doc["peak_to_trough"] == pytest.approx(3.0, rel=0.05)
    assert doc["weekend_factor"] == pytest.approx(0.6, rel=0.02) and doc["tokens"] is None


def test_qps_log_refused_with_line(tmp_path):
    p = _qps_log(tmp_path / "qps.csv", days=3)
    lines = p.read_text().splitlines()
    lines[5] = lines[3]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"qps.csv.*line 6: timestamps must increase"):
        fit_inference_profile(p)
    p.write_text("timestamp,requests\n0,5\n60,-1\n")
    with pytest.raises(InputError, match=r"line 3"):
        fit_inference_profile(p)
    p.write_text("when,how_many\n0,5\n")
    with pytest.raises(InputError, match="not a request log"):
        fit_inference_profile(p)


def test_service_uses_fitted_profile(tmp_path):
    import yaml
    doc = fit_inference_profile(_qps_log(tmp_path / "qps.csv", ratio=4.0, peak_hour=10))
    doc["tokens"] = fit_inference_profile(packaged_trace("AzureLLMInferenceTrace_code.csv.gz"))["tokens"]
    path = tmp_path / "svc.inference.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    svc = {"model": "llama-3.1-70b", "peak_requests_per_s": 10.0, "noise_cv": 0.0}
    wl = WorkloadConfig(inference=[InferenceServiceConfig(**svc, profile_path=path)])
    plain = WorkloadConfig(inference=[InferenceServiceConfig(**svc)])
    row = services(wl).iloc[0]
    assert row["mean_input_tokens"] == pytest.approx(doc["tokens"]["input_tokens"]["log"]["mean"])
    tl = Timeline(dt.date(2027, 1, 4), 3600, 24)
    rps = inference_demand(wl, tl, 0).iloc[:, 0].to_numpy()
    assert rps.max() / rps.min() == pytest.approx(4.0, rel=0.05)
    assert int(np.argmax(rps)) in (9, 10)  # steps are evaluated at their middle
    base = inference_demand(plain, tl, 0).iloc[:, 0].to_numpy()
    assert base.max() / base.min() == pytest.approx(2.5, rel=0.05)  # the scenario's own assumption


def test_a_request_log_too_small_for_token_mixes_is_refused(tmp_path):
    # a two-request log was fitted a token mixture from two samples
    p = tmp_path / "req.csv"
    rows = "".join(f"2024-01-01 00:00:{i:02d},{100 + i},{20 + i}\n" for i in range(50))
    p.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + rows)
    with pytest.raises(InputError, match=r"has 50 requests, too few.*at least 100"):
        fit_inference_profile(p)


def test_an_inference_profile_field_out_of_range_is_refused_with_its_file(tmp_path):
    # peak_to_trough: .inf ended in "field 'inference_gpus_needed': per-step GPU counts must be finite" and a
    # numpy RuntimeWarning, naming neither the file nor the field
    import subprocess
    import sys

    import yaml

    doc = fit_inference_profile(_qps_log(tmp_path / "qps.csv"))
    doc["peak_to_trough"] = float("inf")
    (tmp_path / "svc.inference.yaml").write_text(yaml.safe_dump(doc))
    sc = tmp_path / "s.yaml"
    sc.write_text("extends: borlange-2027\nsimulation: {duration_days: 1}\nworkload:\n  inference:\n"
                  "  - {model: mistral-large-2, peak_requests_per_s: 100, profile_path: svc.inference.yaml}\n")
    for cmd in (["scenario", "validate", str(sc)], ["run", str(sc), "-o", str(tmp_path / "r"), "-q", "--no-report"]):
        r = subprocess.run([sys.executable, "-m", "dctwin", *cmd], capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "svc.inference.yaml: field 'peak_to_trough'" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and "RuntimeWarning" not in r.stderr


def test_an_inference_profile_with_a_key_given_twice_is_refused(tmp_path):
    import yaml

    from dctwin.config.workload import InferenceServiceConfig
    from dctwin.workload.inference import _service_profile

    doc = fit_inference_profile(_qps_log(tmp_path / "qps.csv"))
    path = tmp_path / "twice.inference.yaml"
    path.write_text(yaml.safe_dump(doc) + "peak_hour: 3\n")  # the second peak_hour was the one used
    svc = InferenceServiceConfig(model="mistral-large-2", peak_requests_per_s=10, profile_path=path)
    with pytest.raises(InputError, match=r"twice.inference.yaml: malformed YAML .*duplicate key 'peak_hour'"):
        _service_profile(svc)
