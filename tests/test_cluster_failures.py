"""Failure rates from the Llama 3 report and the Young/Daly checkpoint interval."""

from __future__ import annotations

import math

import pytest

from dctwin.cluster import failure_model, young_daly_interval_s
from dctwin.cluster.failures import read_failure_rates
from dctwin.config.cluster import CheckpointConfig, FailureConfig
from dctwin.errors import InputError


def test_component_counts_add_up_to_the_419_reported():
    data = read_failure_rates()
    assert sum(c["count"] for c in data["components"].values()) == 419
    assert data["observed_gpu_hours"] == 16_384 * 54 * 24


def test_per_gpu_rate_matches_dossier_derivation():
    fm = failure_model(FailureConfig(), CheckpointConfig(), 8)
    per_gpu_h = fm.total_rate_per_gpu_s * 3600
    assert per_gpu_h == pytest.approx(2.0e-5, rel=0.02)     # dossier §5a: ~2.0e-5 per GPU-hour
    assert 1 / per_gpu_h == pytest.approx(50_700, rel=0.01)  # MTBF ~50,700 GPU-h
    assert fm.component_p.sum() == pytest.approx(1.0)


def test_young_daly_example_from_dossier():
    # 120 s checkpoint with a 6 h MTBF gives ~38 min (dossier §5c)
    assert young_daly_interval_s(120, 6 * 3600) / 60 == pytest.approx(38, abs=0.5)
    assert young_daly_interval_s(10, math.inf) == math.inf


def test_rate_scale_and_disable():
    base = failure_model(FailureConfig(), CheckpointConfig(), 8).total_rate_per_gpu_s
    assert failure_model(FailureConfig(rate_scale=2), CheckpointConfig(), 8).total_rate_per_gpu_s == \
        pytest.approx(2 * base)
    assert failure_model(FailureConfig(enabled=False), CheckpointConfig(), 8).total_rate_per_gpu_s == 0


def test_unknown_rate_set_lists_valid():
    with pytest.raises(InputError, match="llama3-h100"):
        failure_model(FailureConfig(rates="nope"), CheckpointConfig(), 8)


def test_checkpoint_cost_and_rollback_by_hand():
    import numpy as np

    from test_cluster_helpers import run_small

    ckpt = {"policy": "fixed", "interval_s": 1000.0, "cost_s": 10.0}
    # 3,500 s of work, a checkpoint every 1,000 s: 3 writes of 10 s, done at 3,530 s
    r = run_small([{"submit_s": 0, "gpus": 1, "duration_s": 3500}], gpus=1, checkpoint=ckpt)
    job = r.jobs.iloc[0]
    assert job["end_s"] == pytest.approx(3530) and job["checkpoint_gpu_s"] == pytest.approx(30)
    # inference takes the GPU at 2,700 s (step 3): 2 checkpoints done (2,020 s), 680 s rolled back;
    # it comes back at 3,600 s (step 4), relaunches (600 s) and redoes 1,500 s with one more write
    inference = np.zeros(96)
    inference[3] = 1
    r = run_small([{"submit_s": 0, "gpus": 1, "duration_s": 3500}], gpus=1, checkpoint=ckpt, inference=inference)
    job = r.jobs.iloc[0]
    assert job["lost_gpu_s"] == pytest.approx(680 + 600)
    assert job["checkpoint_gpu_s"] == pytest.approx(30)
    assert job["end_s"] == pytest.approx(3600 + 600 + 1500 + 10)
    assert job["useful_gpu_s"] == pytest.approx(3500)
