"""The compiled engine path (numba kernels, ``placement/compiled.py``) against the Python reference path:
the same placements and log rows on random histories, byte-identical tables on small scenarios, and the
path choice (``DCTWIN_ENGINE``) refused when invalid and never importing numba for a small run."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dctwin.cluster import engine_path
from dctwin.cluster.placement import topology
from dctwin.cluster.placement.domains import Domains
from dctwin.cluster.placement.inference import grant_inference, return_inference
from dctwin.cluster.placement.log import PlacementLog
from dctwin.errors import InputError
from dctwin.extras import MissingExtra

pytest.importorskip("numba")
from dctwin.cluster.placement.compiled import ArrayDomains  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("golden_hashes", REPO / "scripts" / "golden_hashes.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


def _inference(dom, held) -> int:
    """GPUs held by inference: online, not free, not held by a placement."""
    return dom.total_gpus - dom.total_free - sum(k for p in held for _, k in p)


def _replay(seed: int, size: int | list[int], gpus: int, steps: int, dom, compiled: bool):
    """Random grows, placements, releases, inference grants and give-backs; every result in order."""
    rng = random.Random(seed)
    log = PlacementLog()
    pieces: dict[int, int] = {}
    big = max(size) if isinstance(size, list) else size
    dom.grow_to(gpus // 2)
    held, seen = [], []
    for _ in range(steps):
        r = rng.random()
        if r < 0.02 and dom.total_gpus < gpus:
            dom.grow_to(min(gpus, dom.total_gpus + rng.randint(1, 3 * big)))
        elif held and (r < 0.4 or dom.total_free < big):
            dom.release(held.pop(rng.randrange(len(held))))
        elif r < 0.55 and dom.total_free:
            n = rng.randint(1, min(dom.total_free, 4 * big))
            dom.grant_inference(log, 1.0, n) if compiled else grant_inference(dom, pieces, log, 1.0, n)
        elif r < 0.65 and _inference(dom, held) > 0:
            y = rng.randint(1, _inference(dom, held))
            dom.return_inference(log, 2.0, y) if compiled else return_inference(dom, pieces, log, 2.0, y)
        else:
            want = min(dom.total_free, rng.choice([1, 2, 3, big - 1, big, big + 1, 2 * big, 5 * big + 3, 40 * big]))
            if want >= 1:
                got = dom.place(dom, want) if compiled else topology.place(dom, want)
                held.append(got)
                seen.append(got)
        nd = dom.n_dom if compiled else len(dom.cap)
        seen.append((dom.total_free, [int(x) for x in dom.free[:nd]], [int(x) for x in dom.count]))
    return seen, log.columns().tobytes(), dom.inference_pieces() if compiled else pieces


@pytest.mark.parametrize("size", [8, 72, [8, 4, 8, 2, 8, 8, 1, 8] * 40])
@pytest.mark.parametrize("seed", range(4))
def test_kernels_equal_the_python_domains_on_random_histories(seed, size):
    gpus = 320 * 8 if size == 8 else 30 * 72 if size == 72 else sum(size)
    want = _replay(seed, size, gpus, 2000, Domains(size), compiled=False)
    got = _replay(seed, size, gpus, 2000, ArrayDomains(size, gpus), compiled=True)
    assert got[0] == want[0]
    assert got[1] == want[1], "placement log rows differ"
    assert got[2] == want[2], "inference pieces (and their order) differ"


def test_kernels_refuse_a_double_free_and_a_double_allocation():
    dom = ArrayDomains(8, 16)
    dom.grow_to(16)
    with pytest.raises(AssertionError, match="domain 1"):
        dom.give(1, 1)
    dom.take(0, 8)
    with pytest.raises(AssertionError, match="domain 0"):
        dom.take(0, 1)


@pytest.mark.parametrize("name,days", [("borlange-2027", 10.0), ("campus-600mw", 2.0),
                                       ("air-cooled-hgx-tampa", 10.0)])
def test_both_paths_give_identical_tables(name, days, monkeypatch):
    hashes = {}
    for path in ("python", "compiled"):
        monkeypatch.setenv(engine_path.ENV, path)
        hashes[path] = golden.scenario_hashes(name, days)
    assert hashes["compiled"] == hashes["python"]


def test_an_invalid_or_unservable_path_is_refused(monkeypatch):
    monkeypatch.setenv(engine_path.ENV, "fast")
    with pytest.raises(InputError, match="DCTWIN_ENGINE.*fast.*auto, python, compiled"):
        engine_path.choose(100, 1.0, False, "topology")
    monkeypatch.setenv(engine_path.ENV, "compiled")
    with pytest.raises(InputError, match="GPU-type pools"):
        engine_path.choose(100, 1.0, True, "topology")
    with pytest.raises(InputError, match="first_fit"):
        engine_path.choose(100, 1.0, False, "first_fit")
    assert engine_path.choose(100, 1.0, False, "topology") == "compiled"


def test_auto_runs_compiled_only_from_the_threshold_on(monkeypatch):
    monkeypatch.delenv(engine_path.ENV, raising=False)
    edge = engine_path.COMPILED_MIN_DOMAIN_DAYS
    assert engine_path.choose(edge // 10, 10.0, False, "topology") == "compiled"
    assert engine_path.choose(edge // 10, 9.9, False, "topology") == "python"
    assert engine_path.choose(edge, 10.0, True, "topology") == "python"
    assert engine_path.choose(edge, 10.0, False, "first_fit") == "python"


def test_a_small_run_does_not_import_numba():
    code = ("import sys, dctwin\n"
            "from dctwin.config.load import load_scenario, scenario_from_dict\n"
            "d = load_scenario().model_dump(mode='json'); d['simulation']['duration_days'] = 2\n"
            "dctwin.simulate(scenario_from_dict(d, source='t'))\n"
            "print('numba' in sys.modules)\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != engine_path.ENV}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_state_words_fit_the_layout():
    from dctwin.cluster.placement import kernels

    dom = ArrayDomains(8, 8 * 10)
    assert dom.st.size == kernels.state_words(8, 10)
    assert np.shares_memory(dom.free, dom.st) and np.shares_memory(dom.count, dom.st)


@pytest.mark.parametrize("policy,dgpus,gang", [("easy_backfill", 72, "none"), ("priority_preempt", 8, "domain"),
                                               ("fair_share", 8, "none")])
def test_both_paths_equal_under_failures_repairs_and_growth_audited(policy, dgpus, gang, monkeypatch):
    """60 days with node failures and repairs, hot spares, a build-out, inference swings and a cap dip, every
    GPU's owner audited after each batch: every table of the two paths equal."""
    import datetime as dt

    from dctwin.cluster import simulate_cluster
    from dctwin.cluster.synthetic import synthetic_jobs
    from dctwin.config.cluster import SchedulerConfig
    from dctwin.timeline import Timeline
    from test_cluster_helpers import platform

    tl = Timeline(dt.date(2027, 1, 1), 900, 60 * 96)
    t = tl.t_s.astype(float)
    online = np.where(t < 20 * 86_400, 360, 720)
    inference = (0.2 + 0.15 * np.sin(2 * np.pi * t / 86_400)) * online
    cap = np.where((t > 30 * 86_400) & (t < 33 * 86_400), 400, online)
    jobs = synthetic_jobs(2_000, 720, 60 * 86_400.0, seed=9, load=0.7)
    cfg = SchedulerConfig(policy=policy, gang_rule=gang, failures={"rate_scale": 50.0, "spare_fraction": 0.02})
    out = {}
    for path in ("python", "compiled"):
        monkeypatch.setenv(engine_path.ENV, path)
        out[path] = simulate_cluster(cfg, tl, online, platform(dgpus), jobs, inference, 3, gpu_cap=cap, audit=True)
    a, b = out["python"], out["compiled"]
    assert len(a.failures) > 50 and a.stats["preemptions"] > 0
    for name in ("jobs", "series", "placements", "failures"):
        pd_a, pd_b = getattr(a, name), getattr(b, name)
        assert pd_a.equals(pd_b), name
    assert (a.stats.pop("engine_path"), b.stats.pop("engine_path")) == ("python", "compiled")
    assert a.stats == b.stats


def test_without_numba_auto_runs_python_and_compiled_names_the_extra(monkeypatch):
    monkeypatch.delenv(engine_path.ENV, raising=False)
    monkeypatch.setattr(engine_path, "numba_installed", lambda: False)
    big = engine_path.COMPILED_MIN_DOMAIN_DAYS
    assert engine_path.choose(big, 10.0, False, "topology") == "python"
    monkeypatch.setenv(engine_path.ENV, "compiled")
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError, as when it is not installed
    with pytest.raises(MissingExtra, match=r"dctwin\[compiled\]"):
        engine_path.choose(100, 1.0, False, "topology")


def test_dctwin_run_forced_compiled_without_numba_is_exit_2_naming_the_extra(tmp_path):
    code = ("import sys\nsys.modules['numba'] = None\n"  # as if the extra were not installed
            f"sys.argv = ['dctwin', 'run', '--out', {str(tmp_path / 'run')!r}, '-q', '--no-report']\n"
            "from dctwin.cli import main\nmain()\n")
    env = {**__import__("os").environ, engine_path.ENV: "compiled", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "pip install 'dctwin[compiled]'" in done.stderr.replace("\n", "")
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()
