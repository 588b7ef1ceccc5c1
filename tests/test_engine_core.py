"""The compiled engine core (``cluster/core``) against the Python reference engine: every table and statistic
equal byte for byte under FIFO and EASY backfill, deadlines, deferrable jobs, priorities, shedding for
inference and a GPU cap, a domain plan, heavy failures with repairs and spares, buffers that overflow and are
retried, the placement log's bound; and ``auto`` choosing the core only from ``COMPILED_MIN_JOBS`` jobs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dctwin.cluster import engine_path, simulate_cluster
from dctwin.cluster.synthetic import synthetic_jobs
from dctwin.config.cluster import SchedulerConfig
from dctwin.timeline import Timeline
from test_cluster_helpers import platform

pytest.importorskip("numba")
from dctwin.cluster.core import run as core_run  # noqa: E402

DAYS = 30


def _inputs(seed: int, max_wait_s: float):
    tl = Timeline(dt.date(2027, 1, 1), 900, DAYS * 96)
    t = tl.t_s.astype(float)
    online = np.where(t < 10 * 86_400, 288, 576)
    inference = (0.25 + 0.2 * np.sin(2 * np.pi * t / 86_400)) * online
    cap = np.where((t > 15 * 86_400) & (t < 17 * 86_400), 300, online)
    jobs = synthetic_jobs(1_500, 576, DAYS * 86_400.0, seed=seed, load=0.8, max_wait_s=max_wait_s)
    return tl, online, inference, cap, jobs


def _both(cfg: SchedulerConfig, monkeypatch, seed: int = 4, max_wait_s: float = 2 * 86_400.0, domains=None,
          audit: bool = False):
    tl, online, inference, cap, jobs = _inputs(seed, max_wait_s)
    out = {}
    for path in ("python", "compiled"):
        monkeypatch.setenv(engine_path.ENV, path)
        out[path] = simulate_cluster(cfg, tl, online, platform(72 if domains is None else 8), jobs, inference, 7,
                                     gpu_cap=cap, domains=domains, audit=audit)
    return out["python"], out["compiled"]


def _assert_equal(a, b) -> None:
    for name in ("jobs", "series", "placements", "failures"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert (a.stats.pop("engine_path"), b.stats.pop("engine_path")) == ("python", "compiled")
    assert a.stats == b.stats


@pytest.mark.parametrize("policy", ["fifo", "easy_backfill"])
@pytest.mark.parametrize("preempts", [True, False])
def test_core_equals_python_with_deadlines_shedding_and_failures(policy, preempts, monkeypatch):
    cfg = SchedulerConfig(policy=policy, inference_preempts_training=preempts,
                          failures={"rate_scale": 40.0, "spare_fraction": 0.03})
    a, b = _both(cfg, monkeypatch)
    _assert_equal(a, b)
    states = a.jobs["state"].value_counts()
    assert states.get("cancelled", 0) > 0 and len(a.failures) > 20          # the paths were exercised
    assert a.stats["preemptions_for_capacity"] > 0


def test_core_equals_python_on_a_domain_plan_audited(monkeypatch):
    plan = [8, 4, 8, 2, 8, 8, 2, 8] * 12               # 576 GPUs in domains of unequal size
    cfg = SchedulerConfig(policy="easy_backfill", failures={"rate_scale": 40.0})
    a, b = _both(cfg, monkeypatch, domains=plan, audit=True)
    _assert_equal(a, b)


def test_overflowing_buffers_are_retried_to_the_same_result(monkeypatch):
    """Every history-dependent buffer starts at one entry: the core doubles and reruns until the run fits."""
    calls = []
    real = core_run._pack

    def tiny_pack(eng, sizes):
        if not calls:
            sizes.update(dict.fromkeys(sizes, 1))
        calls.append(dict(sizes))
        return real(eng, sizes)

    monkeypatch.setattr(core_run, "_pack", tiny_pack)
    cfg = SchedulerConfig(policy="easy_backfill", failures={"rate_scale": 40.0, "spare_fraction": 0.03})
    a, b = _both(cfg, monkeypatch)
    _assert_equal(a, b)
    assert len(calls) > 7 and all(v > 1 for v in calls[-1].values())


def test_the_placement_log_bound_is_the_same_on_both_paths(monkeypatch):
    from dctwin.cluster.placement import log

    monkeypatch.setattr(log, "MAX_ROWS", 500)
    cfg = SchedulerConfig(policy="easy_backfill")
    a, b = _both(cfg, monkeypatch)
    assert len(a.placements) == 0
    _assert_equal(a, b)


def test_auto_runs_the_core_only_from_its_job_threshold(monkeypatch):
    monkeypatch.delenv(engine_path.ENV, raising=False)
    edge = engine_path.COMPILED_MIN_JOBS
    assert engine_path.choose(100, 365.0, False, "topology", edge, core=True) == "compiled"
    assert engine_path.choose(100, 365.0, False, "topology", edge - 1, core=True) == "python"
    assert engine_path.choose(100, 365.0, True, "topology", 10 * edge, core=True) == "python"


def test_the_core_serves_fifo_and_easy_only_without_gang_or_types():
    from dctwin.cluster.placement import first_fit, topology

    assert engine_path.core_serves("easy_backfill", "none", None, topology.place)
    assert engine_path.core_serves("fifo", "none", None, topology.place)
    assert not engine_path.core_serves("priority_preempt", "none", None, topology.place)
    assert not engine_path.core_serves("easy_backfill", "domain", None, topology.place)
    assert not engine_path.core_serves("easy_backfill", "none", [None], topology.place)
    assert not engine_path.core_serves("easy_backfill", "none", None, first_fit.place)


def test_an_audited_run_whose_buffer_overflows_is_retried_not_refused(monkeypatch):
    """Found by tests/test_engine_core_props.py: the audit ran on the half-done batch that filled a buffer
    (a job placed, its pieces not stored) and raised instead of letting the run be repeated."""
    from test_cluster_helpers import job_table

    real = core_run._pack

    def tiny_pack(eng, sizes):
        if not getattr(eng, "_tiny", False):
            eng._tiny = True
            sizes.update(dict.fromkeys(sizes, 1))
        return real(eng, sizes)

    monkeypatch.setattr(core_run, "_pack", tiny_pack)
    tl = Timeline(dt.date(2027, 1, 1), 1, 1)
    out = {}
    for path in ("python", "compiled"):
        monkeypatch.setenv(engine_path.ENV, path)
        out[path] = simulate_cluster(SchedulerConfig(policy="fifo"), tl, np.array([2.0]), platform(1),
                                     job_table([{"submit_s": 0.0}]), np.array([0.25]), 0, audit=True)
    _assert_equal(out["python"], out["compiled"])
    assert out["python"].jobs["state"].tolist() == ["running_at_end"]


def test_the_core_cache_is_keyed_by_every_file_it_links_in():
    """numba keys a cache by its function's own file; the core's entry points link in code from every core
    module and the domain kernels, so an edit to any of them must invalidate their cached code."""
    from pathlib import Path

    from dctwin.cluster.core import loop, stamp

    core = Path(stamp.__file__).parent
    compiled = {p for p in core.glob("*.py") if "nb.njit" in p.read_text()}
    assert compiled | {core.parent / "placement" / "kernels.py"} == set(stamp.SOURCES)
    for entry in (loop.run_slice, loop.finish_books):
        assert entry._cache._cache_file._source_stamp[1] == stamp.sources_digest()


def test_the_compile_notice_can_see_numba_s_cache():
    """``warm.cache_cold`` reads the same numba internals as ``stamp`` (pinned numba) and says nothing when they
    are missing; this fails instead, so an upgrade that removes them is noticed rather than silencing the note."""
    from dctwin.cluster.core import loop

    for entry in (loop.run_slice, loop.finish_books):
        assert callable(entry._cache._index_key) and callable(entry._cache._cache_file._load_index)
        assert isinstance(entry._cache._cache_file._load_index(), dict)
