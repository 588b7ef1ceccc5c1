"""The fitting script: reproducible, and its fits hit the trace statistics they target."""

from __future__ import annotations

import pandas as pd
import pytest

from dctwin.workload import fit
from dctwin.workload.dists import dev_job_stats, size_probs
from dctwin.workload.params import job_fits, token_fits
from dctwin.workload.traces import packaged_trace


def test_stored_fits_are_reproducible(capsys):
    assert fit.main(["--check"]) == 0
    assert "DIFFERS" not in capsys.readouterr().out


@pytest.mark.parametrize("cluster", ["Kalos", "Seren"])
def test_dev_job_fit_hits_acme_summary(cluster):
    """Acme cluster_summary.csv: Kalos 26.77 GPUs/job, median 124 s, mean 1,260 s; Seren 5.68, 122 s, 1,414 s."""
    row = pd.read_csv(packaged_trace("acme_cluster_summary.csv")).set_index("id").loc[cluster]
    p = job_fits()["dev_jobs"][cluster.lower()]
    s = dev_job_stats(p["size"]["p_one_gpu"], p["size"]["q"], p["size"]["k_max"], p["duration"]["mu0"],
                      p["duration"]["slope_per_doubling"], p["duration"]["sigma"], p["duration"]["max_s"])
    assert s["mean_gpus"] == pytest.approx(row["avg_gpu_num"], rel=1e-4)
    assert s["median_duration_s"] == pytest.approx(row["med_run_time_gpu"], rel=1e-4)
    assert s["mean_duration_s"] == pytest.approx(row["avg_run_time_gpu"], rel=1e-4)
    gpu_time = row["complete_gpu_time"] + row["cancel_gpu_time"] + row["fail_gpu_time"]
    assert s["gpu_s_per_job"] == pytest.approx(gpu_time / row["gpu_job_num"], rel=1e-4)
    assert s["share_one_gpu"] >= 0.5  # Acme's median job uses 1 GPU
    assert 2 ** p["size"]["k_max"] == row["max_gpu"]


def test_size_probs_sum_to_one():
    for q in (0.3, 0.7, 1.2):
        p = size_probs(0.55, q, 10)
        assert p.sum() == pytest.approx(1.0) and p[0] == 0.55 and (p > 0).all()


def test_submission_diurnal_within_plausible_range():
    d = job_fits()["submission_diurnal"]
    assert d["pods"] == 8152
    assert 0.2 < d["amplitude"] < 0.8


def test_token_fits_match_readme_counts():
    prof = token_fits()["profiles"]
    assert prof["code"]["requests"] == 8819 and prof["conv"]["requests"] == 19366
    assert prof["conv"]["output_tokens"]["mean"] > prof["code"]["output_tokens"]["mean"]
    assert prof["code"]["input_tokens"]["mean"] > prof["conv"]["input_tokens"]["mean"]
