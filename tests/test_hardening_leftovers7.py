"""Hardening leftovers (issue #21's standard): a staged output folder killed outright is cleaned by the next
command, and weather written in daylight-saving time is refused where it can be told exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from dctwin.results.run_dir import STAGING_PREFIX

_WRITER = textwrap.dedent("""
    import sys, time
    from dctwin.safeout import staged_folder
    with staged_folder(sys.argv[1]) as stage:
        (stage / "design.yaml").write_text("half", encoding="utf-8")
        print("staged", flush=True)
        time.sleep(600)
""")


def _killed_writer(out) -> int:
    """A real process writing ``out`` through staged_folder, killed with SIGKILL mid-write; its pid."""
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ})
    try:
        assert proc.stdout.readline().strip() == "staged"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return proc.pid


def test_sigkilled_staged_folder_is_removed_by_the_next_command(tmp_path, capsys):
    from dctwin.safeout import staged_folder

    pid = _killed_writer(tmp_path / "plan")
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert left == [f"{STAGING_PREFIX}plan-{pid}"], left  # SIGKILL skips every finally: the stage stays
    capsys.readouterr()
    with staged_folder(tmp_path / "plan2") as stage:
        (stage / "a.txt").write_text("x", encoding="utf-8")
    err = capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan", "plan2"]  # 'plan': the empty folder it checked
    assert len(err.strip().splitlines()) == 1 and f"{STAGING_PREFIX}plan-{pid}" in err and "killed" in err, err


def test_a_live_writers_stage_is_left_alone(tmp_path, capsys):
    from dctwin.safeout import staged_folder

    live = tmp_path / f"{STAGING_PREFIX}other-{os.getpid()}"  # this process is alive
    live.mkdir()
    with staged_folder(tmp_path / "out"):
        pass
    assert live.is_dir() and capsys.readouterr().err == ""


def test_a_run_into_the_same_folder_clears_a_killed_plans_stage(tmp_path, capsys):
    """One mechanism: the run's staging (results.run_dir) removes a killed staged_folder's leftovers too."""
    import pandas as pd

    from dctwin.results.run_dir import write_run_dir

    pid = _killed_writer(tmp_path / "plan")
    capsys.readouterr()
    write_run_dir(tmp_path / "r", {"t": pd.DataFrame({"a": [1.0]})}, {}, {"name": "r"})
    assert f"{STAGING_PREFIX}plan-{pid}" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
