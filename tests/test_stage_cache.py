"""The stage cache: a cached run is byte-identical to a cold one, re-runs redo only what changed, and a
damaged, truncated or foreign entry is rebuilt, never trusted."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from dctwin.config.load import packaged_scenarios, scenario_from_dict
from dctwin.orchestrator import simulate
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.stages import StageCache
from dctwin.stages.chain import ScenarioView

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("golden_hashes", REPO / "scripts" / "golden_hashes.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)
DAYS = 7.0


def hashes(result) -> dict[str, str]:
    return {**golden.table_hashes(result.tables), "kpis.json": golden.kpi_hash(result.kpis)}


def changed(base, **sections):
    """``base`` with nested fields replaced, e.g. economics={"finance": {"wacc": 0.09}}."""
    data = base.model_dump(mode="json")

    def merge(dst, src):
        for k, v in src.items():
            if isinstance(v, dict):
                merge(dst[k], v)
            else:
                dst[k] = v
    merge(data, sections)
    return scenario_from_dict(data, source="test")


@pytest.mark.parametrize("name", packaged_scenarios())
def test_cached_run_gives_the_same_bytes_as_a_cold_run(name, tmp_path):
    scenario = golden.scenario_for(name, DAYS)
    cold = hashes(simulate(scenario))
    filling = StageCache(tmp_path)
    assert hashes(simulate(scenario, cache=filling)) == cold
    warm = StageCache(tmp_path)
    assert hashes(simulate(scenario, cache=warm)) == cold
    assert warm.misses == [] and "facility" in warm.hits and "accounting" in warm.hits


@pytest.fixture(scope="module")
def base():
    return golden.scenario_for("borlange-2027", DAYS)


@pytest.fixture(scope="module")
def warm_dir(base, tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    simulate(base, cache=root)
    return root


def test_an_economics_change_recomputes_only_accounting(base, warm_dir):
    cache = StageCache(warm_dir)
    rate = base.economics.finance.wacc
    result = simulate(changed(base, economics={"finance": {"wacc": rate + 0.01}}), cache=cache)
    assert cache.misses == ["accounting"]
    assert hashes(result) == hashes(simulate(changed(base, economics={"finance": {"wacc": rate + 0.01}})))


def test_a_power_chain_change_recomputes_facility_and_accounting(base, warm_dir):
    cache = StageCache(warm_dir)
    mode = "eco" if base.facility.power_chain.ups_mode != "eco" else "double_conversion"
    result = simulate(changed(base, facility={"power_chain": {"ups_mode": mode}}), cache=cache)
    assert cache.misses == ["facility", "accounting"]
    assert hashes(result) == hashes(simulate(changed(base, facility={"power_chain": {"ups_mode": mode}})))


def test_a_workload_change_reruns_the_cluster(base, warm_dir):
    cache = StageCache(warm_dir)
    simulate(changed(base, simulation={"seed": base.simulation.seed + 1}), cache=cache)
    assert {"site", "workload", "cluster#0", "facility", "accounting"} <= set(cache.misses)


@pytest.fixture(scope="module")
def warm(base, warm_dir):
    """(the warm cache of the packaged run, that run's hashes, read back from it)."""
    return warm_dir, hashes(simulate(base, cache=warm_dir))


def _rerun(base, root, perf: PerfParams) -> tuple[StageCache, dict]:
    cache = StageCache(root)
    return cache, hashes(simulate(base, cache=cache, perf=perf))


def test_a_training_constant_recomputes_only_the_cluster(base, warm):
    """borlange-2027 sets pre-training by a flat MFU: the layout search's memory budget is read by the cluster
    stage (and the KPIs) and changes none of its output, so the facility (keyed by the IT power's content) is
    read back; accounting and the job KPIs are keyed by the cluster stages' keys, so they run again."""
    root, cold = warm
    cache, got = _rerun(base, root, packaged_perf_params().replaced("training", hbm_usable_fraction=0.85))
    assert cache.misses == ["cluster#0", "accounting", "job-kpis"]
    assert got == cold


def test_the_power_cap_law_recomputes_operation_and_cluster(base, warm):
    root, cold = warm
    cache, got = _rerun(base, root, packaged_perf_params().replaced("power_cap", throughput_exponent=0.5))
    assert cache.misses == ["operation", "cluster#0", "accounting", "job-kpis"]  # no cap here: same result
    assert got == cold


def test_an_inference_constant_reaches_the_run_and_its_key(base, warm):
    """A lower GEMM efficiency serves fewer tokens per replica: the cluster is recomputed (and what its GPUs
    draw), site, operation and workload are read back, and the warm result equals a cold run's bytes."""
    root, cold = warm
    perf = packaged_perf_params().replaced("inference", compute_efficiency=0.4)
    cache, got = _rerun(base, root, perf)
    assert "cluster#0" in cache.misses and "operation" in cache.hits
    assert all(s in cache.hits for s in ("site", "workload"))
    assert got != cold
    assert got == hashes(simulate(base, perf=perf))


def _damage(how: str, folder: Path, other: Path) -> None:
    entry = json.loads((folder / "entry.json").read_text())
    part = folder / entry["parts"][0]["file"]
    if how == "truncated":
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    elif how == "flipped":
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    elif how == "foreign":  # another stage's intact entry moved into this key's place
        for f in folder.iterdir():
            f.unlink()
        for f in other.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
    elif how == "garbage":
        (folder / "entry.json").write_text("{not json")
    elif how in ("fifo_entry", "fifo_part"):  # reading one blocked the run for good
        target = folder / "entry.json" if how == "fifo_entry" else part
        target.unlink()
        os.mkfifo(target)
    elif how == "symlinked_part":
        part.unlink()
        part.symlink_to("/etc/hostname")
    elif how == "entry_is_a_file":
        shutil.rmtree(folder)
        folder.write_text("x")


def _within(seconds: float, fn):
    """``fn()``'s result, or a test failure if it has not returned after ``seconds`` (a read that blocks)."""
    out = []
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert out, f"still running after {seconds} s (blocked on a cache file)"
    return out[0]


@pytest.mark.parametrize("how", ["truncated", "flipped", "foreign", "garbage", "fifo_entry", "fifo_part",
                                 "symlinked_part", "entry_is_a_file"])
def test_a_damaged_entry_is_rebuilt_not_trusted(base, how, tmp_path):
    simulate(base, cache=tmp_path)
    cold = hashes(simulate(base))
    (folder,) = (tmp_path / "facility").iterdir()
    (other,) = (tmp_path / "site").iterdir()
    _damage(how, folder, other)
    cache = StageCache(tmp_path)
    assert hashes(_within(300, lambda: simulate(base, cache=cache))) == cold
    assert cache.misses == ["facility"]
    again = StageCache(tmp_path)
    simulate(base, cache=again)
    assert again.misses == []  # the rebuilt entry is whole again


def test_a_stage_cannot_read_a_section_its_key_leaves_out(base):
    view = ScenarioView(base, ("economics",))
    assert view.economics is base.economics
    with pytest.raises(AttributeError, match="declares only economics"):
        _ = view.workload


def test_a_warm_run_directory_copies_the_kept_cluster_tables_byte_for_byte(base, tmp_path):
    """``run`` keeps the Parquet files of the tables made of cluster stages alone; a warm re-run copies them,
    and its run directory equals a cold one's; a damaged kept file is ignored and replaced."""
    from dctwin.orchestrator import CLUSTER_TABLES, run

    econ = changed(base, economics={"finance": {"wacc": 0.111}})
    cold = run(econ, tmp_path / "cold")
    run(base, tmp_path / "fill", cache=tmp_path / "cache")
    kept = sorted((tmp_path / "cache" / "tables").glob("*/*.parquet"))
    assert sorted(p.stem for p in kept) == sorted(CLUSTER_TABLES)
    jobs = next(p for p in kept if p.stem == "jobs")
    jobs.write_bytes(jobs.read_bytes()[:-10])  # truncated: must not reach a run directory
    cache = StageCache(tmp_path / "cache")
    warm = run(econ, tmp_path / "warm", cache=cache)
    assert cache.misses == ["accounting"]
    for name in [*cold.tables, "kpis.json"]:
        file = name if name.endswith(".json") else f"{name}.parquet"
        assert (tmp_path / "warm" / file).read_bytes() == (tmp_path / "cold" / file).read_bytes(), file
    assert jobs.read_bytes() == (tmp_path / "cold" / "jobs.parquet").read_bytes()  # replaced by a whole copy
    assert warm.path == tmp_path / "warm"


def test_a_warm_rerun_leaves_the_job_tables_unread_until_asked(base, warm_dir):
    """An economics-only re-run reads neither the cluster's jobs nor its placements (their KPIs are kept in the
    cache); looking them up reads them, and they equal a cold run's."""
    cache = StageCache(warm_dir)
    econ = changed(base, economics={"finance": {"wacc": base.economics.finance.wacc + 0.02}})
    warm = simulate(econ, cache=cache)
    assert warm.tables.deferred("jobs") and warm.tables.deferred("placements")
    assert "jobs" in warm.tables and warm.tables.deferred("jobs")  # asking whether it is there does not read it
    assert "job-kpis" in cache.hits
    assert hashes(warm) == hashes(simulate(econ))
    assert not warm.tables.deferred("jobs")


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_a_damaged_deferred_part_is_rebuilt_when_read(base, how, tmp_path):
    """A job table damaged on disk is caught when it is finally read: the cluster stage runs again, the entry is
    replaced, and the tables are a cold run's."""
    simulate(base, cache=tmp_path)
    cold = hashes(simulate(base))
    (folder,) = (tmp_path / "cluster").iterdir()
    entry = json.loads((folder / "entry.json").read_text())
    jobs = folder / next(p["file"] for p in entry["parts"] if p["name"] == "jobs")
    data = bytearray(jobs.read_bytes())
    if how == "truncated":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0xFF
    jobs.write_bytes(bytes(data))
    cache = StageCache(tmp_path)
    assert hashes(simulate(base, cache=cache)) == cold
    assert "cluster#0" in cache.misses
    again = StageCache(tmp_path)
    result = simulate(base, cache=again)
    assert hashes(result) == cold and "cluster#0" not in again.misses  # the rebuilt entry is whole again


@pytest.mark.parametrize("where", ["file", "proc"])
def test_a_cache_folder_that_cannot_be_written_is_a_clear_error(tmp_path, where):
    # a file or /proc as --cache failed with NotADirectoryError / FileNotFoundError in the first stage
    from dctwin.errors import InputError

    root = tmp_path / "f" if where == "file" else Path("/proc")
    if where == "file":
        root.write_text("x")
    with pytest.raises(InputError, match="--cache': cannot use the stage-cache folder"):
        StageCache(root)


def test_a_stage_folder_that_is_a_file_costs_the_cache_not_the_run(base, tmp_path):
    # `--cache C` with C/facility a file: the run ended in a FileExistsError traceback, and every later one too
    simulate(base, cache=tmp_path)
    cold = hashes(simulate(base))
    shutil.rmtree(tmp_path / "facility")
    (tmp_path / "facility").write_text("not a folder")
    cache = StageCache(tmp_path)
    assert hashes(simulate(base, cache=cache)) == cold
    assert cache.misses == ["facility"] and (tmp_path / "facility").is_file()  # the user's file is left alone
