"""Workload profiles: fit a log, generate a year, compare; readers of public formats; hostile logs refused."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml

from dctwin.catalog import get_platform
from dctwin.config.workload import DevJobsConfig, TrainingConfig, WorkloadConfig
from dctwin.errors import InputError
from dctwin.timeline import Timeline
from dctwin.workload import generate_jobs
from dctwin.workload.formats import read_trace
from dctwin.workload.goodness import arrivals_by_hour
from dctwin.workload.profile import fit_profile
from dctwin.workload.profile_gen import generate_from_profile, load_profile, mean_gpu_s_per_job
from dctwin.workload.tails import fit_body_tail, quantile
from dctwin.workload.traces import packaged_trace

YEAR_S = 365 * 86_400.0


@pytest.fixture(scope="module")
def openb():
    log = read_trace(packaged_trace("openb_pod_list_default.csv.gz"))
    return log, fit_profile(log)


def test_openb_year_matches_run_time_percentiles_and_mean(openb):
    """A year drawn from the openb profile: run-time p50, p90 within 15 % and mean within 20 % of the log.

    A year at the log's rate is ~15,000 pods; 1 % of them carry ~90 % of the run time, so
    one year's mean scatters by about ±15 %: the mean is checked over three drawn years.
    """
    log, prof = openb
    rec = log.jobs["duration_s"].to_numpy()
    drawn = []
    for seed in range(3):
        d = generate_from_profile(prof, YEAR_S, np.random.default_rng(seed))["duration_s"]
        for q in (50, 90):
            assert np.percentile(d, q) == pytest.approx(np.percentile(rec, q), rel=0.15)
        drawn.append(d)
    assert np.concatenate(drawn).mean() == pytest.approx(rec.mean(), rel=0.20)


def test_openb_year_matches_arrivals_by_hour(openb):
    log, prof = openb
    sub = log.jobs["submit_s"].to_numpy()
    rec = arrivals_by_hour(sub, float(sub.max()))
    gen = generate_from_profile(prof, YEAR_S, np.random.default_rng(7))["submit_s"]
    got = arrivals_by_hour(gen, YEAR_S)
    np.testing.assert_allclose(got, rec, rtol=0.15)
    assert got.sum() == pytest.approx(rec.sum(), rel=0.05)  # jobs per day


def test_tail_model_reproduces_heavy_tail():
    """A Pareto(1.2) sample: the model's quantiles and mean follow the sample's, nothing above its max."""
    rng = np.random.default_rng(3)
    x = 60.0 * (1 + rng.pareto(1.2, 50_000))
    d = fit_body_tail(x)
    p = (np.arange(400_000) + 0.5) / 400_000
    q = quantile(d, p)
    for pp in (0.5, 0.9, 0.99, 0.999):
        assert np.quantile(q, pp) == pytest.approx(np.quantile(x, pp), rel=0.05)
    assert q.mean() == pytest.approx(x.mean(), rel=0.10)
    assert q.max() <= x.max()


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


HELIOS = """job_id,user,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue
1,u1,8,64,1,COMPLETED,2020-04-06 09:00:00,2020-04-06 09:00:10,2020-04-06 10:00:10,3600,10
2,u2,1,8,1,FAILED,2020-04-06 09:30:00,2020-04-06 09:31:00,2020-04-06 09:32:00,60,60
3,u1,0,4,1,COMPLETED,2020-04-06 09:40:00,2020-04-06 09:40:00,2020-04-06 09:50:00,600,0
4,u3,2,16,1,CANCELLED,2020-04-06 11:00:00,,,0,
"""


def test_helios_csv(tmp_path):
    log = read_trace(_write(tmp_path / "cluster_log.csv", HELIOS))
    j = log.jobs
    assert log.format == "slurm_csv" and list(j["gpus"]) == [8, 1]  # CPU-only and never-started jobs left out
    assert list(j["duration_s"]) == [3600.0, 60.0] and list(j["wait_s"]) == [10.0, 60.0]
    assert list(j["submit_s"]) == [0.0, 1800.0] and list(j["state"]) == ["completed", "failed"]
    assert log.t0 == dt.datetime(2020, 4, 6, 9) and any("left out" in n for n in log.notes)


def test_acme_csv_with_types(tmp_path):
    rows = ("{i}a,x,1,8,8,SFT,COMPLETED,2023-05-{d:02d} 00:00:00,2023-05-{d:02d} 00:01:00,2023-05-{d:02d} 01:01:00,"
            "3600,60\n"
            "{i}b,y,1,1,8,Evaluation,COMPLETED,2023-05-{d:02d} 00:02:00,2023-05-{d:02d} 00:02:00,2023-05-{d:02d} "
            "00:04:00,120,0\n")
    text = ("job_id,user,node_num,gpu_num,cpu_num,type,state,submit_time,start_time,end_time,duration,queue\n"
            + "".join(rows.format(i=i, d=1 + i % 28) for i in range(100)))  # 200 jobs: the fewest a fit takes
    prof = fit_profile(read_trace(_write(tmp_path / "trace_kalos.csv", text)))
    kinds = {k for c in prof["runtime_classes"] for k in c["kinds"]}
    assert kinds == {"sft", "evaluation"} and prof["tenants"] == {"x": 0.5, "y": 0.5}


def test_philly_json(tmp_path):
    jobs = [{"status": "Pass", "vc": "v1", "jobid": "a", "user": "u1", "submitted_time": "2017-10-03 02:00:00",
             "attempts": [{"start_time": "2017-10-03 02:00:30", "end_time": "2017-10-03 02:10:30",
                           "detail": [{"ip": "m1", "gpus": ["gpu0", "gpu1"]}, {"ip": "m2", "gpus": ["gpu0"]}]},
                          {"start_time": "2017-10-03 03:00:00", "end_time": "2017-10-03 03:05:00",
                           "detail": [{"ip": "m1", "gpus": ["gpu0", "gpu1", "gpu2", "gpu3"]}]}]},
            {"status": "Killed", "vc": "v1", "jobid": "b", "user": "u2", "submitted_time": "2017-10-03 02:30:00",
             "attempts": []}]
    log = read_trace(_write(tmp_path / "cluster_job_log.json", json.dumps(jobs)))
    j = log.jobs
    assert len(j) == 1 and j["gpus"][0] == 4 and j["duration_s"][0] == 900.0 and j["wait_s"][0] == 30.0
    assert j["state"][0] == "completed" and log.t0 == dt.datetime(2017, 10, 3, 2)


SWF = """; Version: 2.2
; UnixStartTime: 1104537600
; TimeZoneString: UTC
1 0 5 100 16 -1 -1 16 200 -1 1 3 1 -1 1 -1 -1 -1
2 60 -1 -1 8 -1 -1 8 100 -1 5 4 1 -1 1 -1 -1 -1
3 120 0 50 4 -1 -1 4 100 -1 0 3 1 -1 1 -1 -1 -1
"""


def test_swf(tmp_path):
    log = read_trace(_write(tmp_path / "x.swf", SWF), procs_per_gpu=4)
    j = log.jobs
    assert list(j["gpus"]) == [4, 1] and list(j["duration_s"]) == [100.0, 50.0] and list(j["wait_s"]) == [5.0, 0.0]
    assert list(j["state"]) == ["completed", "failed"] and log.t0 == dt.datetime(2005, 1, 1)


@pytest.mark.parametrize(("name", "text", "where"), [
    ("bad.swf", SWF.replace("3 120 0 50 4", "3 120 0 50"), "line 6: expected 18 fields"),
    ("neg.swf", SWF.replace("3 120 0 50", "3 120 -7 50"), "line 6: negative time"),
    ("nan.swf", SWF.replace("3 120 0 50", "3 120 0 abc"), "line 6: a field is not a number"),
    ("inf.swf", SWF.replace("3 120 0 50", "3 120 0 inf"), "line 6"),
    ("cluster_log.csv", HELIOS.replace("2020-04-06 09:31:00", "2020-04-06 09:29:00"), "line 3: start_time is before"),
    ("cluster_log.csv", HELIOS.replace("09:30:00,", "yesterday,"), "line 3, submit_time': not an ISO 8601 date"),
    ("cluster_log.csv", HELIOS.replace(",8,64,", ",-8,64,"), "line 2"),
    ("cluster_log.csv", HELIOS.replace(",8,64,", ",1e300,64,"), "line 2"),
    ("log.json", '[{"submitted_time": "2017-10-03 02:00:00", "attempts": [{"start_time": "2017-10-03 03:00:00", '
     '"end_time": "2017-10-03 02:00:00", "detail": []}]}]', "job 0: an attempt ends before it starts"),
    ("log.json", '[{"submitted_time": "2017-13-03 02:00:00", "attempts": []}]', "job 0: submitted_time': not a valid"),
    ("log.json", '[{"submitted_time": "2017-10-03 02:00:00"', "malformed JSON"),
    ("log.json", '{"a": 1}', "expected a JSON list"),
    ("empty.csv", "", "cannot tell the trace format"),
])
def test_hostile_logs_refused_with_file_and_row(tmp_path, name, text, where):
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as exc:
        read_trace(path)
    assert str(path) in str(exc.value) and where in str(exc.value)


def test_openb_broken_row_and_binary_refused(tmp_path):
    rows = gzip.open(packaged_trace("openb_pod_list_default.csv.gz"), "rt").read().splitlines()[:50]
    cells = rows[10].split(",")
    cells[-2] = str(int(cells[-1].split(".")[0]) - 5)  # deletion before scheduled
    rows[10] = ",".join(cells)
    bad = _write(tmp_path / "openb_pod_list_x.csv", "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"line 11: deletion_time is before scheduled_time"):
        read_trace(bad)
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"submit_s,gpus,duration_s\n1,\xff\xfe,3\n")
    with pytest.raises(InputError, match="x.csv"):
        read_trace(binary)


def _helios_jobs(n: int) -> str:
    """A Helios log of ``n`` usable jobs (HELIOS's two GPU jobs that ran, repeated a day apart)."""
    head, a, b = HELIOS.splitlines()[:3]
    rows = [r.replace("2020-04-06", f"2020-04-{6 + i // 2 % 20:02d}").replace(r.split(",")[0] + ",", f"{i},", 1)
            for i, r in zip(range(n), [a, b] * n, strict=False)]
    return "\n".join([head, *rows]) + "\n"


def test_cli_fit_refuses_a_log_too_small_to_fit(tmp_path):
    # a one-job log was fitted: every distribution from one sample, exit 0
    for n in (1, 199):
        src = _write(tmp_path / "cluster_log.csv", _helios_jobs(n))
        r = subprocess.run([sys.executable, "-m", "dctwin", "workload", "fit", str(src), "-o",
                            str(tmp_path / "p.yaml")], capture_output=True, text=True)
        assert r.returncode == 2 and f"has {n} usable jobs" in r.stderr and "at least 200" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and not (tmp_path / "p.yaml").exists()


def test_cli_fit_writes_profile_and_refuses_bad_file(tmp_path):
    src = _write(tmp_path / "cluster_log.csv", _helios_jobs(200))
    out = tmp_path / "p.yaml"
    r = subprocess.run([sys.executable, "-m", "dctwin", "workload", "fit", str(src), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "KS" in r.stdout and out.is_file() and out.with_suffix(".png").is_file()
    assert load_profile(out)["source"]["jobs"] == 200
    bad = _write(tmp_path / "bad.swf", SWF.replace("3 120 0 50 4", "3 120 0 50"))
    r = subprocess.run([sys.executable, "-m", "dctwin", "workload", "fit", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "line 6" in r.stderr and "Traceback" not in r.stderr


def test_scenario_profile_sizes_the_offered_load(openb, tmp_path):
    _, prof = openb
    path = tmp_path / "openb.profile.yaml"
    path.write_text(yaml.safe_dump(prof), encoding="utf-8")
    cfg = WorkloadConfig(training=TrainingConfig(share_of_gpus=1.0, mean_utilisation=0.5,
                                                 pretrain={"share_of_training": 0.0},
                                                 dev=DevJobsConfig(profile_path=path)))
    tl = Timeline(dt.date(2027, 1, 4), 3600, 24 * 90)
    jobs = generate_jobs(cfg, tl, 2000, get_platform("hgx-h100"), seed=1)
    offered = float((jobs["gpus"] * jobs["duration_s"]).sum())
    budget = 2000 * 0.5 * tl.n_steps * 3600.0
    assert offered == pytest.approx(budget, rel=0.25)  # heavy tail: one draw of 90 days scatters
    assert mean_gpu_s_per_job(prof) > 0 and set(jobs["kind"]) <= {"finetune", "eval", "batch"}


def test_validate_warns_when_the_biggest_job_needs_every_gpu(tmp_path):
    from dctwin.config import load_scenario
    from dctwin.workload.checks import big_job_warnings

    base = load_scenario()
    assert big_job_warnings(base) == []  # borlange-2027: 2,048-GPU runs on 7,200 GPUs
    doc = base.model_dump(mode="json")
    doc["workload"]["training"].update(share_of_gpus=1.0, pretrain={**doc["workload"]["training"]["pretrain"],
                                                                     "gpus": 100_000})
    from dctwin.config import scenario_from_dict
    big = scenario_from_dict(doc)
    (line,) = big_job_warnings(big)
    assert "needs 7,200 of the 7,200" in line and "spare_fraction" in line
    doc["scheduler"]["failures"]["spare_fraction"] = 0.02
    (line,) = big_job_warnings(scenario_from_dict(doc))
    assert "only 7,056 of the 7,200" in line and "never starts" in line
    doc["workload"]["training"]["pretrain"]["gpus"] = 6912  # 96 domains of 72, beside 144 spares
    assert big_job_warnings(scenario_from_dict(doc)) == []


def test_run_time_only_log_is_fitted_with_stated_defaults(tmp_path, openb):
    rng = np.random.default_rng(5)
    path = tmp_path / "runtimes.csv"
    dur = np.exp(rng.normal(6, 1.5, 3000))
    path.write_text("duration_s\n" + "\n".join(f"{d:.1f}" for d in dur) + "\n", encoding="utf-8")
    log = read_trace(path)
    prof = fit_profile(log)
    assert any("1 GPU" in n for n in prof["notes"]) and any("arrivals not fitted" in n for n in prof["notes"])
    assert prof["arrivals"]["groups_per_s"] == 0.0 and prof["gpus"] == {"values": [1], "probs": [1.0]}
    assert np.median(quantile(prof["runtime_classes"][0], np.array([0.5]))) == pytest.approx(np.median(dur), rel=0.02)
    ppath = tmp_path / "rt.profile.yaml"
    ppath.write_text(yaml.safe_dump(prof), encoding="utf-8")
    cfg = WorkloadConfig(training=TrainingConfig(share_of_gpus=1.0, mean_utilisation=0.5,
                                                 pretrain={"share_of_training": 0.0},
                                                 dev=DevJobsConfig(profile_path=ppath)))
    tl = Timeline(dt.date(2027, 1, 4), 3600, 24 * 30)
    jobs = generate_jobs(cfg, tl, 100, get_platform("hgx-h100"), seed=1)
    offered = float((jobs["gpus"] * jobs["duration_s"]).sum())
    assert offered == pytest.approx(100 * 0.5 * tl.n_steps * 3600.0, rel=0.1)
    bad = tmp_path / "bad.csv"
    bad.write_text("duration_s\n5\n-3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv.*line 3"):
        read_trace(bad)


PACKAGED_PROFILE = packaged_trace("openb_pod_list_default.csv.gz").parent.parent / "profiles"


@pytest.mark.parametrize("field,edit,value", [
    ("runtime_classes[0].body_quantiles_s[0]",
     lambda p: p["runtime_classes"][0]["body_quantiles_s"].__setitem__(0, float("nan")), "nan"),
    ("runtime_classes[0].max_s", lambda p: p["runtime_classes"][0].update(max_s=1e300), "1e+300"),
    ("gpus.values[0]", lambda p: p["gpus"]["values"].__setitem__(0, 10**12), "1000000000000"),
    ("arrivals.groups_per_s", lambda p: p["arrivals"].update(groups_per_s=float("inf")), "inf"),
    ("arrivals.group_sizes[0]", lambda p: p["arrivals"].update(group_sizes=[10**9], group_size_probs=[1.0]),
     "1000000000"),
])
def test_a_profile_number_out_of_range_is_refused_with_its_path(tmp_path, field, edit, value):
    # each of these gave a run with no development job at all, exit 0 (a NaN run time, 10^12 GPUs, ...)
    prof = yaml.safe_load((PACKAGED_PROFILE / "alibaba-openb.profile.yaml").read_text())
    assert load_profile(PACKAGED_PROFILE / "alibaba-openb.profile.yaml")
    edit(prof)
    path = tmp_path / "bad.profile.yaml"
    path.write_text(yaml.safe_dump(prof))
    with pytest.raises(InputError, match=rf"bad.profile.yaml: field '{re.escape(field)}'.*got {re.escape(value)}"):
        load_profile(path)
    sc = tmp_path / "s.yaml"
    sc.write_text("extends: borlange-2027\nworkload:\n  training:\n    dev:\n      profile_path: bad.profile.yaml\n")
    r = subprocess.run([sys.executable, "-m", "dctwin", "scenario", "validate", str(sc)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and field in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_profile_with_a_key_given_twice_is_refused(tmp_path):
    # the profile reader kept the last of two values silently (scenario files refuse this since the second pass)
    text = (PACKAGED_PROFILE / "alibaba-openb.profile.yaml").read_text()
    assert "\narrivals:\n" in text
    path = tmp_path / "twice.profile.yaml"
    path.write_text(text.replace("\narrivals:\n", "\ndctwin_workload_profile: 1\narrivals:\n", 1))
    with pytest.raises(InputError, match=r"twice.profile.yaml: malformed YAML at line \d+.*duplicate key "
                                         r"'dctwin_workload_profile'"):
        load_profile(path)
