"""Properties of the performance model over random platforms, models, sizes and precisions (issue 7, item 2).

* training: MFU in (0, 1], positive step time and throughput, the chosen
  parallelism uses at most the GPUs given and fits in HBM, throughput equals
  batch over step time; anything that cannot run is an ``InputError``;
* inference: positive throughput and latencies, replicas within the GPUs
  given, the KV cache within HBM; a latency target never raises throughput;
* power capping: the throughput factor lies in (0, 1] and never falls as
  the cap rises.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from dctwin.catalog import load_catalog
from dctwin.errors import InputError
from dctwin.perf import (
    PRECISIONS,
    check_precision,
    inference_perf,
    load_models,
    power_cap_throughput_factor,
    training_perf,
)
from dctwin.perf.hardware import peak_flops

PLATFORMS = sorted({p.id: p for p in load_catalog().values()}.values(), key=lambda p: p.id)
MODELS = sorted(load_models())
PROPS = {"deadline": None, "database": None}


def _supported(platform, precision) -> bool:
    try:
        check_precision(platform, precision)
    except InputError:
        return False
    return True


gpu_counts = st.one_of(st.integers(1, 64), st.sampled_from([72, 128, 576, 1024, 4096, 16_384]))


@settings(max_examples=80, **PROPS)
@given(platform=st.sampled_from(PLATFORMS), model=st.sampled_from(MODELS), n=gpu_counts,
       precision=st.sampled_from(PRECISIONS))
def test_training_perf_is_physical(platform, model, n, precision):
    assume(_supported(platform, precision))
    try:
        r = training_perf(platform, model, n, precision)
    except InputError:
        event("refused (does not fit)")
        return  # does not fit or cannot be split: refused with the project's error, which is the contract
    event("evaluated")
    assert 0.0 < r.mfu <= 1.0, r
    assert r.step_time_s > 0 and math.isfinite(r.step_time_s)
    assert r.tokens_per_s > 0 and math.isfinite(r.tokens_per_s)
    assert r.layout.gpus == r.gpus_used <= n
    assert r.bubble_fraction >= 0 and r.comm_exposed_s >= 0
    assert r.memory_per_gpu_gb <= platform.hbm_gb * (1 + 1e-9)
    assert math.isclose(r.tokens_per_s, r.global_batch_tokens / r.step_time_s, rel_tol=1e-6)
    assert r.tflops_per_gpu * 1e12 <= peak_flops(platform, precision) * (1 + 1e-9)


@settings(max_examples=80, **PROPS)
@given(platform=st.sampled_from(PLATFORMS), model=st.sampled_from(MODELS), n=st.integers(1, 72),
       precision=st.sampled_from(PRECISIONS), inp=st.integers(1, 8192), out=st.integers(1, 4096),
       tpot_target_s=st.floats(0.005, 0.2))
def test_inference_perf_is_physical(platform, model, n, precision, inp, out, tpot_target_s):
    assume(_supported(platform, precision))
    try:
        r = inference_perf(platform, model, n, precision, input_tokens=inp, output_tokens=out)
    except InputError:
        event("refused (does not fit)")
        return
    event("evaluated")
    assert r.tokens_per_s > 0 and math.isfinite(r.tokens_per_s)
    assert math.isclose(r.requests_per_s, r.tokens_per_s / out, rel_tol=1e-9)
    assert r.ttft_s > 0 and r.tpot_s > 0
    assert r.batch_size >= 1
    assert 1 <= r.replicas and r.replicas * r.gpus_per_replica <= n
    assert r.kv_cache_gb <= platform.hbm_gb * r.gpus_per_replica * (1 + 1e-9)
    try:
        tight = inference_perf(platform, model, n, precision, input_tokens=inp, output_tokens=out,
                               tpot_target_s=tpot_target_s)
    except InputError:
        return  # no batch meets the target: refused, fine
    assert tight.tpot_s <= tpot_target_s * (1 + 1e-9)
    assert tight.tokens_per_s <= r.tokens_per_s * (1 + 1e-9)  # a latency target never buys throughput


@settings(max_examples=100, **PROPS)
@given(platform=st.sampled_from(PLATFORMS), caps=st.lists(st.floats(0.0, 1.5), min_size=2, max_size=8))
def test_power_cap_factor_in_unit_interval_and_monotone(platform, caps):
    caps = np.sort(np.array(caps))
    try:
        f = power_cap_throughput_factor(platform, caps)
    except InputError:
        assert caps.min() < 1.0  # only caps below the settable minimum are refused
        return
    assert ((f > 0) & (f <= 1)).all(), f
    assert (np.diff(f) >= 0).all(), f
