"""The layout search is asked each distinct question once per process (perf.search.best_layout's memo).

A pre-training run with ``mfu: null`` used to search the same layout up to five times per pool (twice in
``check_runnable``, then ``generate_jobs``, ``pretrain_run_duration_s`` and ``pretrain_kpis``). These tests count
the searches behind the memo and check that a remembered answer is the one a fresh search gives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dctwin.catalog import get_platform
from dctwin.config.workload import PretrainConfig, TrainingConfig, WorkloadConfig
from dctwin.errors import InputError
from dctwin.perf import search
from dctwin.perf.job import make_job
from dctwin.perf.models import get_model
from dctwin.perf.params import packaged_perf_params
from dctwin.timeline import Timeline
from dctwin.workload.jobs import (
    generate_jobs,
    pretrain_gpus,
    pretrain_kpis,
    pretrain_perf,
    pretrain_run_duration_s,
)

H100 = get_platform("hgx-h100")


@pytest.fixture
def searches(monkeypatch):
    """The list of (platform id, GPUs) of every search that ran, on an empty memo."""
    search.clear_layout_memo()
    ran: list[tuple[str, int]] = []
    inner = search._best_layout

    def counted(platform, job, n_gpus, fixed, params):
        ran.append((platform.id, n_gpus))
        return inner(platform, job, n_gpus, fixed, params)

    monkeypatch.setattr(search, "_best_layout", counted)
    yield ran
    search.clear_layout_memo()


def test_one_search_per_distinct_question(searches):
    first = search.training_perf(H100, "llama-3-70b", 256, "fp8")
    again = search.training_perf(H100, "llama-3-70b", 256, "fp8")
    assert again is first and searches == [("hgx-h100", 256)]
    search.training_perf(H100, "llama-3-70b", 512, "fp8")                     # another GPU count
    search.training_perf(H100, "llama-3-70b", 256, "bf16")                    # another precision
    search.training_perf(H100, "llama-3-70b", 256, "fp8", micro_batch=1)      # a fixed field
    assert len(searches) == 4
    # equal values in new objects are the same question: a platform read again, constants rebuilt
    search.training_perf(dataclasses.replace(H100), "llama-3-70b", 256, "fp8",
                         params=packaged_perf_params().replaced("training"))
    assert len(searches) == 4


def test_every_value_the_answer_depends_on_is_in_the_key(searches):
    """The old MFU cache keyed on a few named fields; a platform or constant changed elsewhere must search again."""
    base = search.training_perf(H100, "gpt-3-175b", 256, "fp8")
    faster_fp8 = dataclasses.replace(H100, fp8_dense_tflops=2 * H100.fp8_dense_tflops)  # not in the old key
    assert search.training_perf(faster_fp8, "gpt-3-175b", 256, "fp8").step_time_s < base.step_time_s
    c = packaged_perf_params()
    slower = c.replaced("training", kernel_efficiency_fp8=0.5 * c.training["kernel_efficiency_fp8"])
    assert search.training_perf(H100, "gpt-3-175b", 256, "fp8", params=slower).step_time_s > base.step_time_s
    assert len(searches) == 3


def test_remembered_answers_equal_fresh_searches(searches):
    c = packaged_perf_params()
    for model, n, precision in (("llama-3-70b", 256, "fp8"), ("gpt-3-175b", 512, "bf16"), ("mixtral-8x7b", 64, "bf16")):
        job = make_job(get_model(model), "pretrain", precision, None, None, 16)
        search.best_layout(H100, job, n, None, c)
        remembered = search.best_layout(H100, job, n, None, c)
        assert remembered == search._best_layout(H100, job, n, {}, c)   # every field, exactly
    assert len(searches) == 2 * 3


def test_a_refusal_is_remembered_and_raised_afresh(searches):
    with pytest.raises(InputError) as first:
        search.training_perf(H100, "llama-3-405b", 8, "bf16")
    with pytest.raises(InputError) as second:
        search.training_perf(H100, "llama-3-405b", 8, "bf16")
    assert len(searches) == 1
    assert str(second.value) == str(first.value) and "does not fit" in str(first.value)
    assert second.value is not first.value


def test_a_pretraining_run_searches_twice_per_pool(searches):
    """What a run asks (run checks, job table, KPIs): the search at the pool's GPUs and at the GPUs it uses."""
    platform = get_platform("vr-nvl72")
    pre = PretrainConfig(mfu=None)
    wl = WorkloadConfig(training=TrainingConfig(pretrain=pre))
    total = 7200
    g = pretrain_gpus(platform, pre, int(wl.training.share_of_gpus * total))
    used = pretrain_perf(platform, pre, g).gpus_used             # check_runnable, twice
    pretrain_run_duration_s(platform, pre, used)
    generate_jobs(wl, Timeline(dt.date(2027, 1, 1), 3600, 24 * 7), total, platform, 0)
    kpis = pretrain_kpis(platform, wl, total)
    assert kpis["pretrain_layout"].endswith(f"on {used} GPUs")
    assert len(searches) == len(set(searches)) == 2
