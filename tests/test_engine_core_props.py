"""Property: the compiled engine core and the Python reference give the same tables and statistics on any
small run (issue 19). Hypothesis draws the odd cases: jobs larger than the cluster, zero and tiny durations,
jobs submitted together, at t=0 or after the span, infinite and tiny ``max_wait_s``, many priorities,
deferrable mixes; failures from none to heavy with spares; online, limit and inference series with growth,
dips, zero capacity and inference above capacity; 1-s to 15-min steps; FIFO and EASY with tiny and large
backfill depths; inference preempting training or not; domains of 1, 8 or 72 GPUs or a domain plan; a
scheduler latency model that reorders the jobs by the time they reach the queue."""

from __future__ import annotations

import datetime as dt
import os
import struct
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dctwin.cluster import engine_path, simulate_cluster
from dctwin.cluster.placement import log
from dctwin.config.cluster import SchedulerConfig
from dctwin.timeline import Timeline
from test_cluster_helpers import job_table, platform

pytest.importorskip("numba")
from dctwin.cluster.core import run as core_run  # noqa: E402


def _latency_model() -> dict:
    """A scheduler attempt model fitted to waits with a 30-s retry comb (as tests/test_cluster_latency.py)."""
    from dctwin.cluster.latency import fit_latency

    rng = np.random.default_rng(0)
    n = 20_000
    cont = np.where(rng.random(n) < 0.8, 0.4, 0.9)
    k = rng.geometric(1 - cont) * (rng.random(n) < 0.3)
    return fit_latency(rng.gamma(2.0, 1.0, n) + k * 30.0)


LATENCY = _latency_model()
PROPS = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}


@contextmanager
def _path(name: str):
    old = os.environ.get(engine_path.ENV)
    os.environ[engine_path.ENV] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ[engine_path.ENV]
        else:
            os.environ[engine_path.ENV] = old


@st.composite
def _series(draw, n_steps: int, top: int, hi: float) -> np.ndarray:
    """Piecewise-constant GPU counts: a few segments between 0 and ``hi`` x ``top`` (fractions floor or ceil)."""
    cuts = sorted(draw(st.lists(st.integers(0, n_steps), max_size=5)))
    level = st.one_of(st.floats(hi / 2, hi), st.floats(0.0, hi), st.sampled_from([0.0, hi]))
    levels = draw(st.lists(level, min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    out = np.empty(n_steps)
    edges = [0, *cuts, n_steps]
    for a, b, v in zip(edges[:-1], edges[1:], levels, strict=True):
        out[a:b] = v * top
    return out


@st.composite
def _domains(draw) -> tuple[int, list[int] | None, int]:
    """(scale-up domain size, domain plan or None, most GPUs the cluster can hold)."""
    kind = draw(st.sampled_from(["1", "8", "72", "plan"]))
    if kind == "plan":
        plan = draw(st.lists(st.sampled_from([1, 2, 3, 4, 8]), min_size=1, max_size=12))
        return 8, plan, sum(plan)
    size = int(kind)
    return size, None, size * draw(st.integers(1, {1: 24, 8: 8, 72: 3}[size]))


@st.composite
def _jobs(draw, top: int, span_s: float, dom: int):
    """Up to 40 jobs, submit times sorted; sizes, durations, deadlines and priorities with the odd cases."""
    n = draw(st.integers(0, 40))
    small = st.integers(1, max(1, top // 4))
    odd = st.sampled_from([1, dom, 2 * dom, top, top + 1, 10 * top + 3])       # top + 1 and up: never fit
    gpus = st.one_of(small, small, st.integers(1, max(1, top)), odd)
    duration = st.one_of(st.sampled_from([0.0, 1e-6, 0.5, 1.0]), st.floats(1.0, span_s / 4 + 1.0),
                         st.floats(1.0, 2 * span_s),
                         st.floats(1.0, 30 * 86_400.0))
    submit = st.one_of(st.sampled_from([0.0, span_s, span_s + 1.0]), st.floats(0.0, 1.2 * span_s),
                       st.floats(0.0, span_s),
                       st.just(-1.0))                   # -1: same instant as the job before
    wait = st.one_of(st.just(np.inf), st.just(np.inf), st.sampled_from([0.0, 1e-9, 1.0]), st.floats(0.0, 2 * span_s))
    prio = st.one_of(st.integers(1, 3), st.integers(-5, 50))
    rows, t = [], 0.0
    for _ in range(n):
        s = draw(submit)
        t = t if s < 0 else s
        rows.append({"submit_s": t, "gpus": draw(gpus), "duration_s": draw(duration), "priority": draw(prio),
                     "deferrable": draw(st.booleans()), "max_wait_s": draw(wait),
                     "tenant": draw(st.sampled_from("abc"))})
    rows.sort(key=lambda r: r["submit_s"])
    return job_table(rows)


@st.composite
def _config(draw) -> SchedulerConfig:
    failures = {"enabled": draw(st.sampled_from([True, True, True, False])),
                "rate_scale": draw(st.sampled_from([0.0, 1.0, 3000.0, 10_000.0, 10_000.0])),
                "spare_fraction": draw(st.sampled_from([0.0, 0.05, 0.3])),
                "max_restarts": draw(st.sampled_from([0, 1, 3, 1000])),
                "detect_s": draw(st.sampled_from([None, 0.0, 30.0, 600.0])),
                "restart_s": draw(st.sampled_from([None, 0.0, 5.0, 900.0])),
                "repair_s": draw(st.sampled_from([None, 0.0, 60.0, 86_400.0])),
                "node_gpus": draw(st.sampled_from([None, 1, 4, 8, 16]))}
    ckpt = draw(st.sampled_from([{}, {"policy": "none"}, {"policy": "fixed", "interval_s": 60.0, "cost_s": 10.0},
                                 {"policy": "young_daly", "cost_s": 0.0}]))
    return SchedulerConfig(policy=draw(st.sampled_from(["fifo", "easy_backfill"])),
                           backfill_depth=draw(st.sampled_from([1, 2, 3, 7, 1000])),
                           obey_facility_limits=draw(st.booleans()),
                           inference_preempts_training=draw(st.booleans()), failures=failures, checkpoint=ckpt)


@st.composite
def runs(draw):
    dom, plan, top = draw(_domains())
    step_s = draw(st.sampled_from([1, 60, 900]))
    n_steps = draw(st.integers(1, {1: 900, 60: 300, 900: 300}[step_s]))
    span = float(step_s * n_steps)
    online = draw(_series(n_steps, top, 1.0))
    limit = draw(st.one_of(st.none(), _series(n_steps, top, 1.2)))
    inference = draw(st.one_of(_series(n_steps, top, 0.2), _series(n_steps, top, 0.5), _series(n_steps, top, 1.5)))
    tl = Timeline(dt.date(2027, 1, 1), step_s, n_steps)
    return dict(scheduler=draw(_config()), timeline=tl, gpus_online=online, domain_gpus=dom,
                jobs=draw(_jobs(top, span, dom)), inference_gpus_needed=inference, seed=draw(st.integers(0, 99)),
                gpu_cap=limit, domains=plan, audit=draw(st.booleans()), tiny_buffers=draw(st.booleans()),
                latency=draw(st.sampled_from([None, None, LATENCY])),
                plog_rows=draw(st.sampled_from([log.MAX_ROWS, log.MAX_ROWS, 3, 40])))


def _tiny_pack(real):
    """``run._pack`` whose first try has one entry in every history-dependent buffer: overflows and retries."""
    def pack(eng, sizes):
        if not eng.__dict__.setdefault("_packed_tiny", False):
            eng._packed_tiny = True
            sizes.update(dict.fromkeys(sizes, 1))
        return real(eng, sizes)
    return pack


def both(case: dict):
    """(python, compiled) results of ``case``; its ``tiny_buffers`` makes the core overflow and retry, its
    ``plog_rows`` bounds the placement log (dropped whole past it on both paths)."""
    args = dict(case)
    args["platform"] = platform(args.pop("domain_gpus"))
    tiny, rows = args.pop("tiny_buffers", False), args.pop("plog_rows", log.MAX_ROWS)
    out = {}
    with mock.patch.object(log, "MAX_ROWS", rows):
        for name in ("python", "compiled"):
            with _path(name), mock.patch.object(core_run, "_pack", _tiny_pack(core_run._pack) if tiny
                                                 else core_run._pack):
                out[name] = simulate_cluster(**args)
    return out["python"], out["compiled"]


def assert_equal(a, b) -> None:
    for name in ("jobs", "series", "placements", "failures"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.equals(y), f"{name} differ:\n{x.compare(y) if x.shape == y.shape else (x.shape, y.shape)}"
    assert (a.stats.pop("engine_path"), b.stats.pop("engine_path")) == ("python", "compiled")
    assert a.stats.keys() == b.stats.keys()
    for k, v in a.stats.items():                         # bit for bit (a run with no GPUs has NaN ratios)
        assert _bits(v) == _bits(b.stats[k]), (k, v, b.stats[k])


def _bits(v):
    return struct.pack("<d", v) if isinstance(v, float) else v


@settings(max_examples=30, **PROPS)
@given(case=runs())
def test_core_equals_python_on_random_small_runs(case):
    a, b = both(case)
    assert_equal(a, b)
