"""Gang placement inside scale-up domains (scheduler.gang_rule) and the fragmentation wait it causes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from dctwin.cluster import simulate_cluster
from dctwin.cluster.placement import Domains
from dctwin.cluster.placement.gang import GangRule, shape_free
from dctwin.cluster.synthetic import synthetic_jobs
from dctwin.config.cluster import SchedulerConfig
from dctwin.errors import InputError
from dctwin.stages.tables import job_kpis
from dctwin.timeline import Timeline
from test_cluster_helpers import job_table, platform, run_small


def _domains(size: int, n: int, used: list[int]) -> Domains:
    dom = Domains(size)
    dom.grow_to(size * n)
    for d, k in enumerate(used):
        if k:
            dom.take(d, k)
    return dom


def test_shape_rule():
    dom = _domains(8, 3, [5, 5, 0])                 # free 3, 3, 8
    assert shape_free(dom, 8) and shape_free(dom, 3)
    assert not shape_free(_domains(8, 2, [5, 5]), 6)  # 6 free in total, 3 + 3
    assert shape_free(dom, 11)                      # one whole domain + 3 in another
    assert not shape_free(dom, 12)                  # the remainder 4 fits nowhere
    assert not shape_free(dom, 16)                  # two whole domains needed, one free
    assert shape_free(_domains(8, 3, [0, 0, 7]), 16)


def test_blocked_time_inside_each_wait():
    rule = GangRule(_domains(8, 2, [5, 5]))
    assert not rule.check(6, 10.0) and not rule.check(6, 15.0)    # blocked from 10 s
    assert rule.check(3, 20.0)                                    # ... to 20 s
    assert not rule.check(6, 50.0)                                # blocked again from 50 s, open at the end
    got = rule.overlap_s(np.array([0.0, 12.0, 25.0, 0.0]), np.array([5.0, 60.0, 40.0, 100.0]), 80.0)
    np.testing.assert_allclose(got, [0.0, 8.0 + 10.0, 0.0, 10.0 + 30.0])


def test_domain_plan_of_unequal_nodes():
    dom = Domains([2, 4, 8])
    assert dom.grow_to(3) == 3 and dom.cap == [2, 1]
    dom.grow_to(14)
    assert dom.cap == [2, 4, 8] and dom.size == 8 and dom.total_free == 14
    with pytest.raises(ValueError, match="plan holds 14"):
        dom.grow_to(15)


ROWS = [{"submit_s": 0.0, "gpus": 5, "duration_s": 3600.0}, {"submit_s": 0.0, "gpus": 5, "duration_s": 7200.0},
        {"submit_s": 1.0, "gpus": 6, "duration_s": 600.0}]


@pytest.mark.parametrize("policy", ["fifo", "easy_backfill", "priority_preempt", "fair_share", "tenant_quota"])
def test_a_job_waits_for_a_shape_not_for_gpus(policy):
    free = run_small(ROWS, gpus=16, policy=policy, domain_gpus=8)
    gang = run_small(ROWS, gpus=16, policy=policy, domain_gpus=8, gang_rule="domain")
    assert free.jobs.loc[2, "wait_s"] == 0 and free.jobs.loc[2, "placement_domains"] == 2
    assert "fragmentation_wait_s" not in free.jobs and "fragmentation_wait_frac" not in free.stats
    j = gang.jobs.loc[2]
    assert j["wait_s"] == pytest.approx(3599.0) and j["placement_domains"] == 1
    assert j["fragmentation_wait_s"] == pytest.approx(3599.0)     # 6 GPUs were free all along, in 3 + 3
    assert gang.stats["fragmentation_wait_frac"] == pytest.approx(1.0)


def test_waiting_for_gpus_is_not_fragmentation():
    rows = [{"submit_s": 0.0, "gpus": 8, "duration_s": 3600.0}, {"submit_s": 1.0, "gpus": 8, "duration_s": 60.0}]
    r = run_small(rows, gpus=8, domain_gpus=8, gang_rule="domain")
    assert r.jobs.loc[1, "wait_s"] == pytest.approx(3599.0)
    assert r.jobs.loc[1, "fragmentation_wait_s"] == 0 and r.stats["fragmentation_wait_frac"] == 0


@pytest.mark.parametrize("policy", ["easy_backfill", "priority_preempt"])
def test_every_start_obeys_the_rule_in_a_busy_month(policy):
    n = 30 * 96
    tl = Timeline(dt.date(2027, 1, 1), 900, n)
    jobs = synthetic_jobs(2_000, 256, 30 * 86_400.0, seed=4, load=0.8)
    cfg = SchedulerConfig(policy=policy, gang_rule="domain", failures={"enabled": False})
    r = simulate_cluster(cfg, tl, np.full(n, 256), platform(8), jobs, np.full(n, 20.0), 3, audit=True)
    p = r.placements[r.placements["holder"] == "job"]
    starts = p[p["gpus_change"] > 0].groupby(["job_id", "t_s"])["domain"].nunique()
    gpus = r.jobs.set_index("job_id")["gpus"].loc[starts.index.get_level_values(0)].to_numpy()
    assert (starts.to_numpy() == -(-gpus // 8)).all()             # the fewest domains, every start
    j = r.jobs
    assert (j["fragmentation_wait_s"] <= j["wait_s"].fillna(0) + 1e-9).all()
    assert 0 < r.stats["fragmentation_wait_frac"] < 1


def test_bad_rules_are_refused():
    with pytest.raises(ValidationError, match="gang_rule must be none or domain"):
        SchedulerConfig(gang_rule="rack")
    with pytest.raises(ValidationError, match="needs placement topology"):
        SchedulerConfig(gang_rule="domain", placement="first_fit")


def test_kpi_is_the_share_of_all_queue_wait():
    jobs = pd.DataFrame({"state": ["completed"] * 3, "gpus": [1, 2, 3], "duration_s": [1.0, 1.0, 1.0],
                         "wait_s": [10.0, 30.0, 0.0], "fragmentation_wait_s": [10.0, 0.0, 0.0]})
    assert job_kpis(jobs)["fragmentation_wait_frac"] == pytest.approx(0.25)
    assert "fragmentation_wait_frac" not in job_kpis(jobs.drop(columns="fragmentation_wait_s"))


# --- GPU-type pools in one cluster ---------------------------------------------------------------------------

def _typed_run(rows, plan, types, policy="fifo", **sched):
    n = 96
    tl = Timeline(dt.date(2027, 1, 1), 900, n)
    jobs = job_table(rows).assign(gpu_type=[r.get("gpu_type", "") for r in rows])
    cfg = SchedulerConfig(policy=policy, failures={"enabled": False}, **sched)
    return simulate_cluster(cfg, tl, np.full(n, sum(plan)), platform(8), jobs, np.zeros(n), 1, audit=True,
                            domains=plan, domain_types=types)


@pytest.mark.parametrize("policy", ["fifo", "easy_backfill", "priority_preempt", "fair_share", "tenant_quota"])
def test_jobs_run_only_on_the_types_they_ask_for(policy):
    plan, types = [8, 8, 4, 4], ["H100", "H100", "A10", "A10"]
    rows = [{"submit_s": 0.0, "gpus": 4, "duration_s": 3600.0, "gpu_type": "A10"},
            {"submit_s": 1.0, "gpus": 4, "duration_s": 3600.0, "gpu_type": "A10"},
            {"submit_s": 2.0, "gpus": 4, "duration_s": 600.0, "gpu_type": "A10"},      # waits: A10 full
            {"submit_s": 3.0, "gpus": 8, "duration_s": 600.0, "gpu_type": "H100"},
            {"submit_s": 4.0, "gpus": 2, "duration_s": 600.0, "gpu_type": "A10|H100"},
            {"submit_s": 5.0, "gpus": 2, "duration_s": 600.0}]                         # any type
    r = _typed_run(rows, plan, types, policy)
    p = r.placements[(r.placements["holder"] == "job") & (r.placements["gpus_change"] > 0)]
    on = p.groupby("job_id")["domain"].agg(lambda d: {types[int(x)] for x in d})
    assert on[0] == on[1] == on[2] == {"A10"} and on[3] == {"H100"}
    assert on[4] <= {"A10", "H100"}
    assert r.jobs.loc[2, "wait_s"] >= 3598.0            # 8 H100 GPUs idle: an A10 job still waits
    if policy == "easy_backfill":                        # the H100 job passes the blocked A10 job
        assert r.jobs.loc[3, "wait_s"] == 0


def test_a_type_the_cluster_lacks_is_refused():
    rows = [{"submit_s": 0.0, "gpus": 1, "gpu_type": "B200"}]
    with pytest.raises(InputError, match="no GPUs of this type") as e:
        _typed_run(rows, [8, 4], ["H100", "A10"])
    assert e.value.field == "gpu_type" and "H100, A10" in str(e.value)
    with pytest.raises(InputError, match="no GPUs of this type"):   # one type: the platform's GPU
        _typed_run(rows, [8], None)


def test_typed_gang_rule_counts_fragmentation_per_type():
    rows = [{"submit_s": 0.0, "gpus": 3, "duration_s": 3600.0, "gpu_type": "A10"},
            {"submit_s": 0.0, "gpus": 3, "duration_s": 3600.0, "gpu_type": "A10"},
            {"submit_s": 1.0, "gpus": 2, "duration_s": 600.0, "gpu_type": "A10"}]     # 1 + 1 A10 free
    r = _typed_run(rows, [8, 4, 4], ["H100", "A10", "A10"], gang_rule="domain")
    assert r.jobs.loc[2, "wait_s"] == pytest.approx(3599.0)
    assert r.jobs.loc[2, "fragmentation_wait_s"] == pytest.approx(3599.0)


def test_the_job_table_reader_keeps_gpu_types(tmp_path):
    from dctwin.workload.traces import read_job_table

    f = tmp_path / "jobs.csv"
    f.write_text("submit_s,gpus,duration_s,gpu_type\n0,1,60,H100 SXM5 80GB\n5,2,60,\n9,1,60,A10|hgx-h100\n")
    jobs = read_job_table(f)
    assert jobs["gpu_type"].tolist() == ["H100 SXM5 80GB", "", "A10|hgx-h100"]
    tl = Timeline(dt.date(2027, 1, 1), 900, 8)
    from dctwin.catalog import get_platform

    r = simulate_cluster(SchedulerConfig(failures={"enabled": False}), tl, np.full(8, 8), get_platform("hgx-h100"),
                         jobs, np.zeros(8), 0)
    assert (r.jobs["state"] == "completed").all()
    bad = jobs.assign(gpu_type=["H100 SXM5 80GB", "", "A10"])
    with pytest.raises(InputError, match="row 2: the cluster has no GPUs of this type"):
        simulate_cluster(SchedulerConfig(), tl, np.full(8, 8), get_platform("hgx-h100"), bad, np.zeros(8), 0)


def test_a_typed_log_is_split_across_the_site_pools(tmp_path):
    from types import SimpleNamespace

    from dctwin.catalog import get_platform
    from dctwin.cluster.stage import _pool_rows, check_pool_types
    from dctwin.workload.traces import read_job_table

    f = tmp_path / "jobs.csv"
    f.write_text("submit_s,gpus,duration_s,gpu_type\n0,1,60,Rubin\n1,8,60,hgx-h100|vr-nvl72\n2,1,60,\n3,4,60,Rubin\n")
    pools = [SimpleNamespace(platform=get_platform("vr-nvl72")), SimpleNamespace(platform=get_platform("hgx-h100"))]
    jobs = read_job_table(f)
    first, second = _pool_rows(jobs, pools[0], 0), _pool_rows(jobs, pools[1], 1)
    assert first["submit_s"].tolist() == [0.0, 2.0, 3.0] and second["submit_s"].tolist() == [1.0]
    assert first["job_id"].tolist() == [0, 1, 2] and second["job_id"].tolist() == [0]
    workload = SimpleNamespace(jobs_path=f)
    check_pool_types(workload, [p.platform for p in pools])
    f.write_text("submit_s,gpus,duration_s,gpu_type\n0,1,60,Rubin\n1,8,60,MI300X\n")
    with pytest.raises(InputError, match="row 1: the site has no GPUs of this type") as e:
        check_pool_types(workload, [p.platform for p in pools])
    assert "MI300X" in str(e.value) and e.value.file == str(f)


def test_the_fit_records_the_gpu_types_a_log_asks_for(tmp_path):
    from dctwin.workload.formats import read_trace
    from dctwin.workload.profile import fit_profile

    rows = "".join(f"{i * 60},{1 + i % 2},{600 + i},{('A10', 'V100|A10', '')[i % 3]}\n" for i in range(300))
    f = tmp_path / "jobs.csv"
    f.write_text("submit_s,gpus,duration_s,gpu_type\n" + rows)
    prof = fit_profile(read_trace(f))
    assert prof["gpu_types"] == {"A10": 0.333333, "V100|A10": 0.333333, "any": 0.333333}
    assert any("gpu_types" in n and "not drawn" in n for n in prof["notes"])
    plain = tmp_path / "plain.csv"
    plain.write_text("submit_s,gpus,duration_s\n" + "".join(r.rsplit(",", 1)[0] + "\n" for r in rows.splitlines()))
    assert "gpu_types" not in fit_profile(read_trace(plain))
