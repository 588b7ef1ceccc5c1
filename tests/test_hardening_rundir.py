"""Run folders: staging left by a kill is cleaned, the report is in place before a run appears, tampered runs
are refused by every reader, and write failures are clear errors (exit 2), not tracebacks."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.results import is_complete_run, read_manifest, write_run_dir

SCENARIO = "extends: borlange-2027\nname: hard\nsimulation: {duration_days: 1, step_s: 3600}\n"


def _frames():
    return {"timeseries": pd.DataFrame({"t": np.arange(24), "it_power_kw": np.linspace(1, 2, 24)})}


def _kill_at(tmp_path, hook: str) -> subprocess.CompletedProcess:
    """Run write_run_dir in a child that SIGKILLs itself at ``hook`` ('rename' or 'finish')."""
    script = textwrap.dedent(f"""
        import os, signal, numpy as np, pandas as pd
        from dctwin.results import run_dir
        if {hook!r} == "rename":
            run_dir._rename_new = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        def finish(folder):
            (folder / "report.html").write_text("<html>half")
            if {hook!r} == "finish":
                os.kill(os.getpid(), signal.SIGKILL)
        run_dir.write_run_dir({str(tmp_path / 'r')!r}, {{"t": pd.DataFrame({{"x": np.arange(10)}})}}, {{}}, {{}},
                              finish=finish)
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True)


@pytest.mark.parametrize("hook", ["rename", "finish"])
def test_kill_before_rename_leaves_no_run_and_the_next_write_cleans_up(tmp_path, hook):
    proc = _kill_at(tmp_path, hook)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "r").exists()
    left = list(tmp_path.iterdir())
    assert left and all(p.name.startswith(".") for p in left)
    assert not any(is_complete_run(p) for p in left)
    write_run_dir(tmp_path / "other", _frames(), {}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]   # the dead writer's staging is gone


def test_a_run_with_a_report_never_appears_without_it(tmp_path, cli):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    out = tmp_path / "r"
    seen: list[bool] = []
    proc = subprocess.Popen([sys.executable, "-m", "dctwin", "run", str(tmp_path / "s.yaml"), "--out", str(out),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None:
        if is_complete_run(out):
            seen.append((out / "report.html").is_file())
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    assert (out / "report.html").is_file() and all(seen)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    (root / "s.yaml").write_text(SCENARIO)
    # a child process as a user would run it (not `from conftest import`, which xdist may resolve to
    # tests/browser/conftest.py)
    proc = subprocess.run([sys.executable, "-m", "dctwin", "run", str(root / "s.yaml"), "--out", str(root / "a"),
                           "--quiet", "--no-report"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return root / "a"


def _tampered(run_dir, tmp_path):
    copy = tmp_path / "t"
    shutil.copytree(run_dir, copy)
    frame = pd.read_parquet(copy / "timeseries.parquet")
    col = frame.select_dtypes("number").columns[0]
    frame.loc[0, col] = frame[col].iloc[0] + 1
    frame.to_parquet(copy / "timeseries.parquet")
    return copy


def test_tampered_run_is_refused_by_every_reader(run_dir, tmp_path, cli):
    bad = _tampered(run_dir, tmp_path)
    with pytest.raises(InputError, match="changed after it finished"):
        read_manifest(bad)
    for args in (["report", str(bad)], ["compare", str(run_dir), str(bad), "--out", str(tmp_path / "c.html")],
                 ["query", str(bad), "SELECT 1"]):
        proc = cli(*args)
        assert proc.returncode == 2 and "timeseries.parquet: content changed" in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "c.html").exists()


def test_symlinked_table_is_refused(run_dir, tmp_path):
    copy = tmp_path / "s"
    shutil.copytree(run_dir, copy)
    target = tmp_path / "elsewhere.parquet"
    shutil.move(copy / "jobs.parquet", target)
    os.symlink(target, copy / "jobs.parquet")
    with pytest.raises(InputError, match="jobs.parquet: not a regular file"):
        read_manifest(copy)


def test_compare_out_into_a_run_is_refused(run_dir, tmp_path, cli):
    other = tmp_path / "b"
    shutil.copytree(run_dir, other)
    before = (run_dir / "manifest.json").read_bytes()
    proc = cli("compare", str(run_dir), str(other), "--out", str(run_dir / "manifest.json"))
    assert proc.returncode == 2 and "inside a run" in proc.stderr
    assert (run_dir / "manifest.json").read_bytes() == before
    assert read_manifest(run_dir)


def test_out_under_a_file_is_a_clear_error(tmp_path, cli):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "f").write_text("x")
    proc = cli("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "f" / "r"), "--quiet", "--no-report")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "cannot" in proc.stderr


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EDQUOT])
def test_read_only_or_full_file_system_is_a_clear_error(tmp_path, monkeypatch, code):
    import dctwin.results.run_dir as rd

    def fail(frame, path):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(rd, "write_table", fail)
    with pytest.raises(InputError, match=os.strerror(code)):
        write_run_dir(tmp_path / "r", _frames(), {}, {})
    assert list(tmp_path.iterdir()) == []


def test_the_loser_of_two_concurrent_runs_into_one_out_gets_a_clear_error(tmp_path):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    out = tmp_path / "r"
    args = [sys.executable, "-m", "dctwin", "run", str(tmp_path / "s.yaml"), "--out", str(out), "--quiet",
            "--no-report"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = sorted((p.wait(timeout=600), p.stderr.read()) for p in procs)
    assert codes[0][0] == 0 and codes[1][0] == 2, codes
    assert "Traceback" not in codes[1][1] and "never overwrites" in codes[1][1]
    assert read_manifest(out) and sorted(p.name for p in tmp_path.iterdir()) == ["r", "s.yaml"]


JOBS = "submit_s,gpus,duration_s,kind\n0,8,3600,batch\n60,4,1800,finetune\n"


def _outputs_into(target, tmp_path):
    """Every command that writes where the user says, pointed at ``target``."""
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS)
    sweep = tmp_path / "sw.yaml"
    sweep.write_text("name: s\noverrides: {simulation: {duration_days: 1, step_s: 3600}}\n")
    return {"schema": ("scenario", "schema", "-o", str(target)),
            "fit": ("workload", "fit", str(jobs), "-o", str(target)),
            "figure": ("workload", "fit", str(jobs), "-o", str(tmp_path / "p.yaml"), "--figure", str(target)),
            "sweep": ("sweep", str(sweep), "-o", str(target), "-q"),
            "plan": ("plan", "--min-training-pflops", "1", "-o", str(target))}


@pytest.mark.parametrize("what", ["schema", "fit", "figure", "sweep", "plan"])
def test_no_command_writes_into_a_finished_run(run_dir, tmp_path, cli, what):
    # `scenario schema -o RUN/manifest.json` and `workload fit -o` overwrote the manifest; a sweep replaced report.html
    copy = tmp_path / "r"
    shutil.copytree(run_dir, copy)
    target = copy if what in ("sweep", "plan") else copy / ("report.html" if what == "figure" else "manifest.json")
    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    proc = cli(*_outputs_into(target, tmp_path)[what])
    assert proc.returncode == 2 and "inside a run directory" in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == before
    assert read_manifest(copy)


@pytest.mark.parametrize("what,problem", [("schema", "not a regular file"), ("fit", "not a regular file"),
                                          ("sweep", "not a folder"), ("plan", "not a folder")])
def test_an_output_path_of_the_wrong_kind_is_a_clear_error(tmp_path, cli, what, problem):
    target = tmp_path / ("f" if what in ("sweep", "plan") else "d")
    target.mkdir() if what in ("schema", "fit") else target.write_text("x")
    proc = cli(*_outputs_into(target, tmp_path)[what])
    assert proc.returncode == 2 and problem in proc.stderr and "Traceback" not in proc.stderr


def test_a_figure_of_another_type_is_refused_before_the_fit(tmp_path, cli):
    proc = cli(*_outputs_into(tmp_path / "fig.html", tmp_path)["figure"])
    assert proc.returncode == 2 and "unsupported output file type" in proc.stderr and "Traceback" not in proc.stderr


def test_a_sweep_is_not_written_among_other_files(tmp_path, cli):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    proc = cli(*_outputs_into(folder, tmp_path)["sweep"])
    assert proc.returncode == 2 and "holds no sweep" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def _edit_manifest(run_dir, tmp_path, name, edit):
    copy = tmp_path / name
    shutil.copytree(run_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.parametrize("edit", [
    lambda m: m.update(seed=m["seed"] + 1),                              # the seed the report prints
    lambda m: m["scenario"]["phases"][0]["racks"][0].update(count=1),    # the scenario load_run rebuilds
    lambda m: m.update(step_s=60),                                       # the span the report divides by
    lambda m: m.update(extra="planted"),
], ids=["seed", "scenario", "step_s", "added"])
def test_an_edited_manifest_field_is_refused(run_dir, tmp_path, cli, edit):
    # manifest fields were outside every hash: an edited seed or scenario was read as the run's own
    bad = _edit_manifest(run_dir, tmp_path, "m", edit)
    with pytest.raises(InputError, match=r"manifest.json: its fields .* changed since the run"):
        read_manifest(bad)
    for args in (["report", str(bad)], ["query", str(bad), "SELECT 1"]):
        proc = cli(*args)
        assert proc.returncode == 2 and "its fields" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_manifest_without_its_seal_or_with_nan_is_refused(run_dir, tmp_path):
    unsealed = _edit_manifest(run_dir, tmp_path, "u", lambda m: m.pop("manifest_sha256"))
    with pytest.raises(InputError, match="no seal of its own fields"):
        read_manifest(unsealed)
    nan = tmp_path / "n"
    shutil.copytree(run_dir, nan)
    text = (nan / "manifest.json").read_text().replace('"step_s": 3600', '"step_s": NaN')
    assert "NaN" in text
    (nan / "manifest.json").write_text(text)
    with pytest.raises(InputError, match="its fields"):
        read_manifest(nan)


def test_a_written_manifest_is_sealed_over_every_field(run_dir):
    manifest = read_manifest(run_dir)
    assert manifest["manifest_format"] == 2 and len(manifest["manifest_sha256"]) == 64
    assert {"scenario", "seed", "step_s", "files", "complete"} <= set(manifest)
