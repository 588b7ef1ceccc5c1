"""Sweeps that really run: local pool, resume after kills, and a real Ray cluster on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from dctwin.sweep import run_sweep

SWEEP = """\
    name: smoke
    base: borlange-2027
    overrides: {simulation: {duration_days: 2, step_s: 3600}}
    axes:
      - field: facility.cooling.liquid_supply_temp_c
        values: [40, 45, 50]
    monte_carlo: {repetitions: REPS, seed_start: 1}
"""


def sweep_file(tmp_path: Path, reps: int = 2) -> Path:
    p = tmp_path / "sweep.yaml"
    p.write_text(textwrap.dedent(SWEEP).replace("REPS", str(reps)), encoding="utf-8")
    return p


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("run_id").reset_index(drop=True)


def test_local_sweep_tables(tmp_path):
    outcome = run_sweep(sweep_file(tmp_path), tmp_path / "out", workers=2)
    runs = outcome.runs
    assert len(runs) == 6 and runs["run_id"].is_unique and not outcome.failed
    assert set(runs["axis:liquid_supply_temp_c"]) == {40, 45, 50}
    pue = outcome.summary[outcome.summary["kpi"] == "pue"]
    assert len(pue) == 3 and (pue["p10"] <= pue["p50"]).all() and (pue["p50"] <= pue["p90"]).all()
    assert {"liquid_supply_temp_c", "seed (P10-P90)"} <= set(outcome.sensitivity["driver"])
    for name in ("runs.parquet", "summary.parquet", "sensitivity.parquet", "report.html", "tornado.png"):
        assert (tmp_path / "out" / name).is_file()
    # a second call finds everything finished and runs nothing again
    again = run_sweep(sweep_file(tmp_path), tmp_path / "out", workers=2)
    pd.testing.assert_frame_equal(_comparable(again.runs), _comparable(runs))


def _children(pid: int) -> list[int]:
    """Child process ids of ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _start_sweep(path: Path, out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dctwin", "sweep", str(path), "--out", str(out), "-j", str(workers),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_done(out: Path, n: int, proc: subprocess.Popen, timeout_s: float = 240) -> None:
    t0 = time.monotonic()
    while len(list((out / "done").glob("*.json"))) < n:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() - t0 < timeout_s, "sweep made no progress"
        time.sleep(0.2)


@pytest.mark.parametrize("victim", ["worker", "whole sweep"])
def test_killed_sweep_resumes_with_every_run_once(tmp_path, victim):
    path, out = sweep_file(tmp_path, reps=2), tmp_path / "out"
    proc = _start_sweep(path, out, workers=2)
    _wait_for_done(out, 1, proc)
    finished_before = {p.name: p.read_bytes() for p in (out / "done").glob("*.json")}
    if victim == "worker":
        workers = _children(proc.pid)
        assert workers, "the local engine should run worker processes"
        os.kill(workers[0], signal.SIGKILL)
        proc.wait(timeout=240)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    outcome = run_sweep(path, out, workers=2)
    assert len(outcome.runs) == 6 and outcome.runs["run_id"].is_unique and not outcome.failed
    for name, content in finished_before.items():   # finished runs were kept, not redone
        assert (out / "done" / name).read_bytes() == content


@pytest.mark.ray
def test_ray_cluster_gives_the_local_results(tmp_path):
    """A real local Ray cluster (bounded CPUs) in a network namespace that has only loopback."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a loopback-only network namespace")
    path = sweep_file(tmp_path, reps=1)
    local = run_sweep(path, tmp_path / "local", workers=1)
    ray_bin = Path(sys.executable).parent / "ray"
    script = f"""
        set -e
        ip link set lo up
        export RAY_USAGE_STATS_ENABLED=0
        {ray_bin} start --head --num-cpus=2 --port=6390 --include-dashboard=false --disable-usage-stats >/dev/null
        trap '{ray_bin} stop --force >/dev/null 2>&1' EXIT
        {sys.executable} -m dctwin sweep {path} --out {tmp_path / 'ray'} --ray 127.0.0.1:6390 --quiet
    """
    proc = subprocess.run(["unshare", "--net", "--", "bash", "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    on_ray = pd.read_parquet(tmp_path / "ray" / "runs.parquet")
    pd.testing.assert_frame_equal(_comparable(on_ray), _comparable(local.runs))
