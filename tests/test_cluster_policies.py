"""Each scheduling policy on small cases whose answer can be worked out by hand."""

from __future__ import annotations

import pytest

from dctwin.cluster import get_policy
from dctwin.errors import InputError
from test_cluster_helpers import run_small

RESTART_S = 600.0  # default relaunch time (failure_rates.yaml)


def starts(r):
    return r.jobs["start_s"].tolist()


def test_registry_lists_valid_names():
    assert get_policy("fifo").name == "fifo"
    with pytest.raises(InputError, match="easy_backfill"):
        get_policy("nope")


BACKFILL_CASE = [
    {"submit_s": 0, "gpus": 6, "duration_s": 3600},     # A runs 0-3600
    {"submit_s": 60, "gpus": 8, "duration_s": 3600},    # B (head) needs all 8: reserved at 3600
    {"submit_s": 120, "gpus": 2, "duration_s": 1800},   # C fits the 2 free GPUs and ends at 1920 < 3600
    {"submit_s": 2000, "gpus": 2, "duration_s": 7200},  # D would end after 3600 and there is no extra GPU
]


def test_fifo_keeps_order():
    r = run_small(BACKFILL_CASE, gpus=8, policy="fifo")
    assert starts(r) == [0, 3600, 7200, 7200]


def test_easy_backfill_lets_small_job_jump_without_delaying_head():
    r = run_small(BACKFILL_CASE, gpus=8, policy="easy_backfill")
    a, b, c, d = starts(r)
    assert (a, b, c) == (0, 3600, 120)       # C backfilled, B keeps its reservation
    assert d == 7200                          # D would have delayed B: it waits
    assert r.jobs["end_s"][2] == 1920


def test_easy_backfill_uses_extra_gpus():
    rows = [{"submit_s": 0, "gpus": 4, "duration_s": 3600},
            {"submit_s": 10, "gpus": 6, "duration_s": 3600},      # head: at 3600 needs 6 of 8, 2 extra
            {"submit_s": 20, "gpus": 2, "duration_s": 20_000}]    # long, but fits in the 2 extra GPUs
    r = run_small(rows, gpus=8, policy="easy_backfill", n_steps=96)
    assert starts(r) == [0, 3600, 20]


def test_priority_preempts_lower_and_counts_the_cost():
    rows = [{"submit_s": 0, "gpus": 8, "duration_s": 7200, "priority": 1},
            {"submit_s": 100, "gpus": 4, "duration_s": 1000, "priority": 5}]
    r = run_small(rows, gpus=8, policy="priority_preempt")
    low, high = r.jobs.iloc[0], r.jobs.iloc[1]
    assert high["start_s"] == 100 and high["end_s"] == 1100
    assert low["preemptions"] == 1
    assert low["lost_gpu_s"] == pytest.approx(8 * 100 + 8 * RESTART_S)   # no checkpoint yet, then relaunch
    assert low["end_s"] == pytest.approx(1100 + RESTART_S + 7200)
    assert low["state"] == "completed"


def test_priority_does_not_preempt_equal_priority():
    rows = [{"submit_s": 0, "gpus": 8, "duration_s": 3600, "priority": 3},
            {"submit_s": 100, "gpus": 4, "duration_s": 1000, "priority": 3}]
    r = run_small(rows, gpus=8, policy="priority_preempt")
    assert starts(r) == [0, 3600]
    assert r.jobs["preemptions"].sum() == 0


def test_fair_share_serves_the_idle_tenant_first():
    rows = [{"submit_s": 0, "gpus": 4, "duration_s": 1000, "tenant": "a"},
            {"submit_s": 1, "gpus": 4, "duration_s": 1000, "tenant": "a"},
            {"submit_s": 2, "gpus": 4, "duration_s": 1000, "tenant": "a"},
            {"submit_s": 3, "gpus": 4, "duration_s": 1000, "tenant": "b"}]
    fair = run_small(rows, gpus=8, policy="fair_share")
    fifo = run_small(rows, gpus=8, policy="fifo")
    assert starts(fifo)[2:] == [1000, 1001]
    assert starts(fair)[2:] == [1001, 1000]   # b (no GPUs) before a's third job


def test_max_wait_cancels_job():
    rows = [{"submit_s": 0, "gpus": 8, "duration_s": 7200},
            {"submit_s": 10, "gpus": 8, "duration_s": 60, "max_wait_s": 3600}]
    r = run_small(rows, gpus=8, policy="fifo")
    assert r.jobs["state"].tolist() == ["completed", "cancelled"]
    assert r.jobs["end_s"][1] == 3610
    assert r.jobs["gpu_s"][1] == 0


QUOTA_CASE = [
    {"submit_s": 0, "gpus": 4, "duration_s": 3600, "tenant": "a"},    # a holds 4 = its quota
    {"submit_s": 10, "gpus": 2, "duration_s": 3600, "tenant": "a"},   # over a's quota: waits for a's first job
    {"submit_s": 20, "gpus": 2, "duration_s": 1800, "tenant": "b"},   # b has room and GPUs: starts at once
]


def test_tenant_quota_holds_a_tenant_at_its_share_and_lets_others_pass():
    r = run_small(QUOTA_CASE, gpus=8, policy="tenant_quota", tenant_quota_share={"a": 0.5})
    assert starts(r) == [0, 3600, 20]  # GPUs were free at 10 s, but tenant a was at its 4-GPU quota
    assert starts(run_small(QUOTA_CASE, gpus=8, policy="tenant_quota")) == [0, 10, 20]  # no quota: no wait


def test_tenant_quota_share_refused_with_another_policy():
    from pydantic import ValidationError

    from dctwin.config.cluster import SchedulerConfig
    with pytest.raises(ValidationError, match="only by policy 'tenant_quota'"):
        SchedulerConfig(policy="fifo", tenant_quota_share={"a": 0.5})
    with pytest.raises(ValidationError, match="between 0 and 1"):
        SchedulerConfig(policy="tenant_quota", tenant_quota_share={"a": 1.5})
