"""Job generator: determinism, sizing of the offered load, fitted distributions, replay, speed."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest

from dctwin.catalog import get_platform
from dctwin.config import load_scenario
from dctwin.config.workload import DevJobsConfig, PretrainConfig, TrainingConfig, WorkloadConfig
from dctwin.errors import InputError
from dctwin.timeline import Timeline
from dctwin.workload import JOB_COLUMNS, generate_jobs, validate_jobs
from dctwin.workload.jobs import dev_job_model, diurnal_poisson_times, pretrain_run_duration_s
from dctwin.workload.params import job_fits

BORLANGE_GPUS = 7200  # 100 racks × 72 GPUs of vr-nvl72 (scenario phase-1)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario()


@pytest.fixture(scope="module")
def platform():
    return get_platform("vr-nvl72")


@pytest.fixture(scope="module")
def year(scenario):
    return Timeline.from_config(scenario.simulation)


@pytest.fixture(scope="module")
def borlange_jobs(scenario, year, platform):
    return generate_jobs(scenario.workload, year, BORLANGE_GPUS, platform, scenario.simulation.seed)


def test_borlange_scenario_gpu_count(scenario, platform):
    gpus = sum(g.count for p in scenario.phases for g in p.racks) * platform.gpus_per_unit
    assert gpus == BORLANGE_GPUS


def test_job_table_contract(borlange_jobs):
    df = borlange_jobs
    assert list(df.columns) == list(JOB_COLUMNS)
    assert validate_jobs(df) is df
    assert df["job_id"].to_numpy().tolist()[:5] == [0, 1, 2, 3, 4]
    assert np.all(np.diff(df["submit_s"].to_numpy()) >= 0)
    assert set(df["kind"].unique()) == {"pretrain", "finetune", "eval", "batch"}
    assert df.loc[df["kind"] == "batch", "deferrable"].all()
    assert not df.loc[df["kind"] != "batch", "deferrable"].any()
    assert (df.loc[df["kind"] == "batch", "model"] == "").all()


def test_a_year_of_borlange_has_at_least_100k_jobs(borlange_jobs):
    assert len(borlange_jobs) >= 100_000


def test_same_seed_same_bytes_other_seed_differs(scenario, platform):
    tl = Timeline(dt.date(2027, 1, 1), 900, 96 * 30)
    a = generate_jobs(scenario.workload, tl, BORLANGE_GPUS, platform, 7)
    b = generate_jobs(scenario.workload, tl, BORLANGE_GPUS, platform, 7)
    c = generate_jobs(scenario.workload, tl, BORLANGE_GPUS, platform, 8)
    pd.testing.assert_frame_equal(a, b)
    assert pd.util.hash_pandas_object(a).sum() == pd.util.hash_pandas_object(b).sum()
    assert len(a) != len(c) or not np.array_equal(a["duration_s"].to_numpy(), c["duration_s"].to_numpy())


def test_offered_load_matches_share_times_utilisation(borlange_jobs, scenario, year):
    """Offered GPU·s = share_of_gpus × mean_utilisation × GPUs × span, split by the pre-training share."""
    tr = scenario.workload.training
    span_s = year.n_steps * year.step_s
    target = tr.share_of_gpus * tr.mean_utilisation * BORLANGE_GPUS * span_s
    df = borlange_jobs
    gpu_s = df["gpus"].to_numpy() * df["duration_s"].to_numpy()
    pre = df["kind"].to_numpy() == "pretrain"
    # a dozen runs with a log-normal token spread: within 15 %; ~200k heavy-tailed dev jobs: within 10 %
    assert gpu_s[pre].sum() == pytest.approx(tr.pretrain.share_of_training * target, rel=0.15)
    assert gpu_s[~pre].sum() == pytest.approx((1 - tr.pretrain.share_of_training) * target, rel=0.10)


def test_pretraining_runs_follow_6ND(borlange_jobs, scenario, platform):
    pre_cfg = scenario.workload.training.pretrain
    runs = borlange_jobs[borlange_jobs["kind"] == "pretrain"]
    assert 3 <= len(runs) <= 30  # "a few per year"
    assert (runs["gpus"] % platform.scale_up_domain_gpus == 0).all()
    assert (runs["gpus"] >= 1000).all()
    # 6 · N · D FLOPs / (GPUs × 16.7 PFLOP/s FP8 × MFU), GPUs rounded down to whole NVL72 domains (dossier §6a)
    n_gpus = pre_cfg.gpus // platform.scale_up_domain_gpus * platform.scale_up_domain_gpus
    expected_s = 6 * 123e9 * pre_cfg.tokens_t * 1e12 / (n_gpus * 16700e12 * pre_cfg.mfu)
    assert pretrain_run_duration_s(platform, pre_cfg, n_gpus) == pytest.approx(expected_s, rel=1e-9)
    assert np.exp(np.log(runs["duration_s"]).mean()) == pytest.approx(expected_s, rel=0.25)
    assert (runs["duration_s"] > 5 * 86400).all()  # weeks, not hours


def _dev_only(profile: str, max_gpus: int) -> WorkloadConfig:
    return WorkloadConfig(training=TrainingConfig(
        share_of_gpus=1.0, mean_utilisation=1.0, pretrain=PretrainConfig(share_of_training=0.0),
        dev=DevJobsConfig(profile=profile, max_gpus=max_gpus, diurnal_amplitude=0.0, weekend_factor=1.0)))


@pytest.mark.parametrize("profile", ["kalos", "seren"])
def test_fitted_dev_jobs_reproduce_acme_statistics(profile, platform):
    """Generated jobs reproduce the Acme summary statistics the model was fitted to."""
    target = job_fits()["dev_jobs"][profile]["target"]
    per_job = target["gpu_s_per_job"]
    gpus = 100_000
    n_wanted = 300_000
    tl = Timeline(dt.date(2027, 1, 1), 3600, int(np.ceil(n_wanted * per_job / gpus / 3600)))
    df = generate_jobs(_dev_only(profile, 1024), tl, gpus, platform, 3)
    assert len(df) == pytest.approx(n_wanted, rel=0.05)
    g = df["gpus"].to_numpy()
    d = df["duration_s"].to_numpy()
    assert np.median(g) == target["median_gpus"]                        # 1 GPU
    assert g.mean() == pytest.approx(target["mean_gpus"], rel=0.05)
    assert np.median(d) == pytest.approx(target["median_duration_s"], rel=0.03)
    assert d.mean() == pytest.approx(target["mean_duration_s"], rel=0.06)
    assert (g * d).mean() == pytest.approx(per_job, rel=0.10)
    assert set(np.unique(g)) <= {2**k for k in range(11)}


def test_capping_keeps_gpu_seconds(platform):
    full = dev_job_model(DevJobsConfig(max_gpus=1024), 10**6)
    capped = dev_job_model(DevJobsConfig(max_gpus=64), 10**6)
    assert capped["gpus"].max() == 64
    assert capped["gpu_s_per_job"] == pytest.approx(full["gpu_s_per_job"], rel=1e-12)


def test_arrivals_reproduce_fitted_daily_and_weekly_cycles():
    rng = np.random.default_rng(0)
    amp = job_fits()["submission_diurnal"]["amplitude"]
    wkd = job_fits()["submission_weekly"]["weekend_factor"]
    days = 7 * 15
    t = diurnal_poisson_times(rng, 0.2, days * 86400.0, amp, 14.0, wkd, start_weekday=0)
    assert np.all(np.diff(t) >= 0)
    assert t.size == pytest.approx(0.2 * days * 86400, rel=0.01)  # the mean rate is kept
    phase = 2 * np.pi * ((t % 86400) / 3600 - 14.0) / 24
    assert 2 * np.mean(np.cos(phase)) == pytest.approx(amp, abs=0.01)
    per_day = np.bincount((t // 86400).astype(int) % 7, minlength=7)
    assert per_day[5:].mean() / per_day[:5].mean() == pytest.approx(wkd, rel=0.02)


def test_weekly_fit_matches_trace_day_counts():
    w = job_fits()["submission_weekly"]
    c = np.array(w["day_counts"], dtype=float)
    pair = c + np.roll(c, -1)
    assert w["weekend_factor"] == pytest.approx(pair.min() / 2 / ((c.sum() - pair.min()) / 5), rel=1e-3)
    assert 0.3 < w["weekend_factor"] < 1.0


def test_small_sites_and_short_spans(scenario, platform):
    tl = Timeline(dt.date(2027, 1, 1), 900, 96)
    df = generate_jobs(scenario.workload, tl, 8, platform, 1)
    validate_jobs(df)
    assert df["gpus"].max() <= 8


def test_unknown_pretrain_model_is_an_input_error(scenario, platform, year):
    wl = WorkloadConfig(training=TrainingConfig(pretrain=PretrainConfig(model="gpt-9")))
    with pytest.raises(InputError, match="unknown model.*allowed: .*mistral-large-2"):
        generate_jobs(wl, year, BORLANGE_GPUS, platform, 1)


def test_replay_from_jobs_path(tmp_path, scenario, platform):
    path = tmp_path / "jobs.csv"
    path.write_text("submit_s,gpus,duration_s,kind\n10,8,3600,finetune\n0,1,60,eval\n1e9,1,5,batch\n")
    wl = WorkloadConfig(jobs_path=path)
    df = generate_jobs(wl, Timeline(dt.date(2027, 1, 1), 900, 96), BORLANGE_GPUS, platform, 0)
    assert df["kind"].tolist() == ["eval", "finetune"]  # sorted; the job after the span is dropped
    assert df["job_id"].tolist() == [0, 1]


def test_jobs_path_resolved_relative_to_scenario(tmp_path):
    (tmp_path / "hist.csv").write_text("submit_s,gpus,duration_s\n0,1,60\n")
    (tmp_path / "s.yaml").write_text("extends: borlange-2027\nname: replay\nworkload:\n  jobs_path: hist.csv\n")
    sc = load_scenario(tmp_path / "s.yaml")
    assert sc.workload.jobs_path == (tmp_path / "hist.csv").resolve()


def test_generation_speed_2m_jobs(platform, scenario, year):
    """~2 million jobs a year (66,000 GPUs) must generate in well under the 60 s run budget."""
    t0 = time.perf_counter()
    df = generate_jobs(scenario.workload, year, 66_000, platform, 5)
    elapsed = time.perf_counter() - t0
    print(f"\ngenerated {len(df):,} jobs in {elapsed:.2f} s")
    assert len(df) >= 1_800_000
    assert elapsed < 8.0  # typically 0.4-1.5 s on a shared 2-core machine


def test_pretrain_duration_from_perf_model(platform):
    """`mfu: null` takes tokens/s from dctwin.perf.training_perf; the implied MFU must be plausible."""
    perf = pytest.importorskip("dctwin.perf")
    cfg = PretrainConfig(mfu=None)
    run_s = pretrain_run_duration_s(platform, cfg, 4032)
    tps = perf.training_perf(platform, cfg.model, 4032, cfg.precision).tokens_per_s
    assert run_s == pytest.approx(cfg.tokens_t * 1e12 / tps)
    implied_mfu = 6 * 123e9 * cfg.tokens_t * 1e12 / run_s / (4032 * platform.peak_tflops("fp8") * 1e12)
    assert 0.1 < implied_mfu < 0.6


def test_tenants_are_the_configured_ones(platform):
    wl = WorkloadConfig(training=TrainingConfig(tenants=["lab", "lab", "pretraining", "ops"]))
    df = generate_jobs(wl, Timeline(dt.date(2027, 1, 1), 900, 96 * 14), BORLANGE_GPUS, platform, 2)
    dev = df[df["kind"] != "pretrain"]
    assert set(dev["tenant"]) == {"lab", "pretraining", "ops"}
    shares = dev["tenant"].value_counts(normalize=True)
    assert shares["lab"] == pytest.approx(0.5, abs=0.03)  # listed twice: drawn twice as often


def test_pretrain_layout_fields_need_the_performance_model():
    """Batch and layout fields act only with mfu: null; with a flat MFU they are refused, not ignored (issue 15)."""
    import pydantic

    from dctwin.config.workload import PretrainConfig
    with pytest.raises(pydantic.ValidationError, match="only apply with mfu: null"):
        PretrainConfig(layout={"tp": 8, "pp": 4, "dp": 16}, gpus=512)
    with pytest.raises(pydantic.ValidationError, match="tp\\*pp\\*dp\\*cp = 512 GPUs but gpus is 4096"):
        PretrainConfig(mfu=None, layout={"tp": 8, "pp": 4, "dp": 16})


def test_pretrain_fp8_attention_shortens_the_run_and_needs_the_performance_model():
    """attention_precision: fp8 reaches dctwin.perf (shorter run); refused with a flat MFU or BF16 training."""
    import pydantic

    from dctwin.catalog import get_platform
    from dctwin.config.workload import PretrainConfig
    from dctwin.errors import InputError
    from dctwin.workload.jobs import pretrain_run_duration_s

    h100 = get_platform("hgx-h100")
    with pytest.raises(pydantic.ValidationError, match="only apply with mfu: null"):
        PretrainConfig(attention_precision="fp8")
    base = dict(mfu=None, model="llama-3-70b", gpus=512, layout={"tp": 4, "pp": 8, "dp": 16}, tokens_t=1.0)
    bf16 = pretrain_run_duration_s(h100, PretrainConfig(**base), 512)
    fp8 = pretrain_run_duration_s(h100, PretrainConfig(**base, attention_precision="fp8"), 512)
    assert fp8 < bf16
    with pytest.raises(InputError, match="FP8 attention"):
        pretrain_run_duration_s(h100, PretrainConfig(**base, precision="bf16", attention_precision="fp8"), 512)


def test_pretrain_cuda_graphs_reach_the_performance_model():
    """cuda_graphs: true shortens a host-bound run (short sequences, TP8) and is refused with a flat MFU."""
    import pydantic

    from dctwin.catalog import get_platform
    from dctwin.config.workload import PretrainConfig
    from dctwin.workload.jobs import pretrain_perf, pretrain_run_duration_s

    h100 = get_platform("hgx-h100")
    with pytest.raises(pydantic.ValidationError, match="only apply with mfu: null.*cuda_graphs"):
        PretrainConfig(cuda_graphs=True)
    base = dict(mfu=None, model="llama-3-70b", gpus=512, layout={"tp": 8, "pp": 1, "dp": 64}, tokens_t=1.0,
                seq_tokens=512, global_batch_tokens=512 * 512, micro_batch=1)
    eager = pretrain_run_duration_s(h100, PretrainConfig(**base), 512)
    graphs = pretrain_run_duration_s(h100, PretrainConfig(**base, cuda_graphs=True), 512)
    assert graphs < eager
    assert pretrain_perf(h100, PretrainConfig(**base, cuda_graphs=True), 512).layout.cuda_graphs


def test_pretrain_fixed_layout_sets_the_run_time_and_is_reported():
    from dctwin.catalog import get_platform
    from dctwin.config.workload import PretrainConfig, WorkloadConfig
    from dctwin.perf import training_perf
    from dctwin.workload.jobs import pretrain_kpis, pretrain_run_duration_s

    h100 = get_platform("hgx-h100")
    cfg = PretrainConfig(mfu=None, model="llama-3-70b", gpus=512, layout={"tp": 4, "pp": 8, "dp": 16},
                         global_batch_tokens=4 * 2**20, schedule="1f1b", tokens_t=1.0)
    r = training_perf(h100, "llama-3-70b", 512, "fp8", global_batch_tokens=4 * 2**20, tp=4, pp=8, dp=16,
                      schedule="1f1b")
    assert pretrain_run_duration_s(h100, cfg, 512) == pytest.approx(1e12 / r.tokens_per_s)
    auto = PretrainConfig(mfu=None, model="llama-3-70b", gpus=512, tokens_t=1.0)
    assert pretrain_run_duration_s(h100, auto, 512) <= pretrain_run_duration_s(h100, cfg, 512)
    k = pretrain_kpis(h100, WorkloadConfig(training={"pretrain": cfg.model_dump(), "share_of_gpus": 1.0}), 512)
    assert k["pretrain_layout"].startswith("TP4 PP8 DP16") and 0 < k["pretrain_mfu"] < 1
