"""SIGKILL at random moments: no run looks complete unless it is, a rerun finishes, nothing earlier is harmed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

from dctwin.results import is_complete_run, verify_run_dir

SCENARIO = "extends: borlange-2027\nname: crash\nsimulation: {{duration_days: {days}}}\n".format


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dctwin", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def test_killed_runs_never_look_complete_and_reruns_finish(tmp_path):
    scenario = tmp_path / "crash.yaml"
    scenario.write_text(SCENARIO(days=20))
    earlier = tmp_path / "earlier"
    proc = subprocess.run([sys.executable, "-m", "dctwin", "run", str(scenario), "--out", str(earlier), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    earlier_bytes = {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()}

    rng = np.random.default_rng(7)
    delays = rng.uniform(0.5, 12.0, size=5)     # bounded, seeded "random moments"
    for i, delay in enumerate(delays):
        out = tmp_path / f"run{i}"
        proc = _start(["run", str(scenario), "--out", str(out), "--quiet"])
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        if out.exists():                        # the rename happened: it must be whole
            assert is_complete_run(out) and verify_run_dir(out) == []
        else:                                   # nothing that looks like a run was left; a rerun finishes it
            assert not any(p.name == out.name for p in tmp_path.iterdir())
            rerun = subprocess.run([sys.executable, "-m", "dctwin", "run", str(scenario), "--out", str(out),
                                    "--quiet", "--no-report"], capture_output=True, text=True, timeout=600)
            assert rerun.returncode == 0, rerun.stderr
            assert is_complete_run(out) and verify_run_dir(out) == []
    # the earlier run was never touched
    assert {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()} == earlier_bytes
    assert verify_run_dir(earlier) == []


def test_rerun_into_a_finished_run_is_refused(tmp_path, cli):
    scenario = tmp_path / "crash.yaml"
    scenario.write_text(SCENARIO(days=2))
    out = tmp_path / "r"
    assert cli("run", str(scenario), "--out", str(out), "--quiet", "--no-report").returncode == 0
    before = (out / "timeseries.parquet").read_bytes()
    proc = cli("run", str(scenario), "--out", str(out), "--quiet")
    assert proc.returncode == 2 and "never overwrites" in proc.stderr
    assert (out / "timeseries.parquet").read_bytes() == before


def test_tampered_run_is_detected(tmp_path, cli):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO(days=2))
    out = tmp_path / "r"
    assert cli("run", str(scenario), "--out", str(out), "--quiet", "--no-report").returncode == 0
    with open(out / "jobs.parquet", "ab") as f:
        f.write(b"junk")
    assert verify_run_dir(out) == ["jobs.parquet: content changed since the run"]
