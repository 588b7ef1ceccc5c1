"""Inference services and demand curves: shape, token mix, growth, determinism, config checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dctwin.config import load_scenario
from dctwin.config.workload import InferenceServiceConfig, WorkloadConfig
from dctwin.timeline import Timeline
from dctwin.workload import inference_demand, read_azure_llm_trace, services
from dctwin.workload.inference import SERVICE_COLUMNS, daily_weekly_shape
from dctwin.workload.traces import packaged_trace

YEAR = Timeline(dt.date(2027, 1, 1), 900, 35040)  # 2027-01-01 is a Friday


@pytest.fixture(scope="module")
def scenario():
    return load_scenario()


def _svc(**kw) -> InferenceServiceConfig:
    base = {"model": "mistral-large-2", "peak_requests_per_s": 100.0}
    return InferenceServiceConfig(**(base | kw))


def test_columns_rows_and_determinism(scenario):
    tl = Timeline.from_config(scenario.simulation)
    a = inference_demand(scenario.workload, tl, 42)
    names = [s.service for s in scenario.workload.inference]
    assert len(a) == tl.n_steps
    assert list(a.columns) == [f"{n}__{c}" for n in names
                               for c in ("requests_per_s", "input_tokens_per_s", "output_tokens_per_s")]
    assert (a.to_numpy() > 0).all()
    pd.testing.assert_frame_equal(a, inference_demand(scenario.workload, tl, 42))
    assert not np.array_equal(a.to_numpy(), inference_demand(scenario.workload, tl, 43).to_numpy())


@pytest.mark.parametrize("profile", ["conv", "code"])
def test_token_mix_matches_azure_trace(profile):
    """Tokens per request equal the trace means: conv 1,155 in / 211 out, code 2,048 in / 28 out."""
    trace = read_azure_llm_trace(packaged_trace(f"AzureLLMInferenceTrace_{profile}.csv.gz"))
    wl = WorkloadConfig(inference=[_svc(token_profile=profile)])
    d = inference_demand(wl, YEAR, 1)
    req = d["mistral-large-2__requests_per_s"]
    assert (d["mistral-large-2__input_tokens_per_s"] / req).to_numpy() == pytest.approx(
        trace["input_tokens"].mean(), rel=1e-5)
    assert (d["mistral-large-2__output_tokens_per_s"] / req).to_numpy() == pytest.approx(
        trace["output_tokens"].mean(), rel=1e-5)
    table = services(wl)
    assert table.loc["mistral-large-2", "mean_input_tokens"] == pytest.approx(trace["input_tokens"].mean(), rel=1e-5)


def test_daily_peak_trough_and_weekend():
    t = np.arange(0, 14 * 86400, 900) + 450.0
    shape = daily_weekly_shape(t, dt.date(2027, 1, 4).weekday(), 2.5, 14.0, 0.7)  # starts on a Monday
    monday = shape[:96]
    assert monday.max() == pytest.approx(1.0, abs=1e-3)
    assert monday.max() / monday.min() == pytest.approx(2.5, rel=0.01)
    assert (np.argmax(monday) * 900 + 450) / 3600 == pytest.approx(14.0, abs=0.25)
    saturday = shape[5 * 96:6 * 96]
    assert saturday.max() == pytest.approx(0.7, abs=1e-3)


def test_noise_free_peak_and_growth():
    wl = WorkloadConfig(inference=[_svc(noise_cv=0.0, growth_per_year=1.0)])
    r = inference_demand(wl, YEAR, 0)["mistral-large-2__requests_per_s"].to_numpy()
    assert r[:96].max() == pytest.approx(100.0, rel=0.01)   # the configured weekday peak (a Friday)
    last_week = r[-96 * 7:].max()
    assert last_week == pytest.approx(200.0, rel=0.03)           # doubled after a year


def test_noise_has_mean_one_and_set_spread():
    quiet = inference_demand(WorkloadConfig(inference=[_svc(noise_cv=0.0)]), YEAR, 0).iloc[:, 0].to_numpy()
    noisy = inference_demand(WorkloadConfig(inference=[_svc(noise_cv=0.1)]), YEAR, 0).iloc[:, 0].to_numpy()
    ratio = noisy / quiet
    assert ratio.mean() == pytest.approx(1.0, abs=0.005)
    assert ratio.std() == pytest.approx(0.1, rel=0.05)


def test_services_table(scenario):
    table = services(scenario.workload)
    assert list(table.columns) == list(SERVICE_COLUMNS)
    assert {"mistral-large-2", "mixtral-8x22b", "mistral-medium-3"} <= set(table.index)
    assert (table["ttft_ms"] == 450).all() and (table["tpot_ms"] == 40).all()  # MLPerf v5.0 interactive


def test_service_names_must_be_unique_and_clean():
    with pytest.raises(ValueError, match="unique"):
        WorkloadConfig(inference=[_svc(), _svc()])
    WorkloadConfig(inference=[_svc(), _svc(name="mistral-large-2-batch")])
    with pytest.raises(ValueError, match="__"):
        WorkloadConfig(inference=[_svc(name="a__b")])

