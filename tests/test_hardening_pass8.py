"""Hardening pass 8 (issue #21's standard): one check before a run directory is written, same seed same bytes for
every file of a run directory, Ctrl-C always ends in the documented message and exit code, and every accepted
scenario field acts or is refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.results import write_run_dir
from dctwin.safeout import check_new_run_dir


def _tables() -> dict[str, pd.DataFrame]:
    return {"timeseries": pd.DataFrame({"t_s": [0, 900], "it_power_kw": [1.0, 2.0]})}


def _finished_run(tmp_path: Path) -> Path:
    return write_run_dir(tmp_path / "done", _tables(), {"pue": 1.1}, {"seed": 1})


@pytest.mark.parametrize("where", ["exists", "inside_run", "under_file"])
def test_write_run_dir_refuses_with_the_one_new_run_dir_check(tmp_path, where):
    """write_run_dir and `dctwin run -o` refuse a bad output folder by one check, so with one message."""
    if where == "exists":
        out = tmp_path / "taken"
        out.mkdir()
    elif where == "inside_run":
        out = _finished_run(tmp_path) / "nested"
    else:
        (tmp_path / "afile").write_text("x", encoding="utf-8")
        out = tmp_path / "afile" / "run"
    with pytest.raises(InputError) as direct:
        check_new_run_dir(out)
    with pytest.raises(InputError) as written:
        write_run_dir(out, _tables(), {}, {})
    assert str(written.value) == str(direct.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dctwin-partial-")]


SHORT = "extends: borlange-2027\nname: same-seed\nsimulation: {duration_days: 2, step_s: 3600, seed: 7}\n"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_of_one_seed_write_the_same_bytes_but_their_times(tmp_path, cli):
    """Same scenario, seed and run-folder name: every file of the run directory, report.html and manifest.json
    included, is byte-identical; the wall-clock times live only in timing.json, outside the manifest's hashes."""
    import json

    from dctwin.report.build import report_html
    from dctwin.report.data import load_run
    from dctwin.results import open_run, verify_run_dir

    (tmp_path / "s.yaml").write_text(SHORT, encoding="utf-8")
    runs = [tmp_path / "first" / "run", tmp_path / "second" / "run"]
    for out in runs:
        proc = cli("run", str(tmp_path / "s.yaml"), "-q", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
    a, b = (_files(r) for r in runs)
    assert sorted(a) == sorted(b) and {"report.html", "manifest.json", "timing.json"} <= set(a)
    assert [n for n in a if a[n] != b[n]] in ([], ["timing.json"])
    manifest = json.loads(a["manifest.json"])
    assert not {"started_utc", "finished_utc", "wall_time_s"} & set(manifest) and "timing.json" not in manifest["files"]
    timing = open_run(runs[0]).timing
    assert timing["wall_time_s"] > 0 and timing["started_utc"] <= timing["finished_utc"]
    assert verify_run_dir(runs[0]) == []
    again = report_html(load_run(runs[0]))  # the report of the same run dir, drawn again, is the file written
    assert again.encode("utf-8") == a["report.html"] == b["report.html"]


def test_web_lists_a_run_by_its_timing_file(tmp_path):
    """The dashboard's run list reads the times from timing.json, and from the manifest of a run written before."""
    from dctwin.web.runs import RunStore
    from run_fixture import make_run

    make_run(tmp_path, "timed", days=1)
    old = {"scenario_name": "old", "started_utc": "2026-01-02T03:04:05+00:00", "wall_time_s": 2.5}
    write_run_dir(tmp_path / "older", _tables(), {}, old)  # as dctwin wrote runs before timing.json
    store = RunStore(tmp_path)
    assert (store.summary("timed")["started_utc"], store.summary("timed")["wall_time_s"]) == (
        "2027-01-01T00:00:00+00:00", 1.0)
    assert (store.summary("older")["started_utc"], store.summary("older")["wall_time_s"]) == (old["started_utc"], 2.5)
    assert [r["name"] for r in store.list()] == ["timed", "older"]  # newest first


def test_sweep_report_figures_have_named_not_random_div_ids(tmp_path):
    """plotly's to_html gives each figure a random uuid div id unless told one: the same sweep, the same bytes."""
    from dctwin.sweep.report import write_sweep_report

    runs = pd.DataFrame({"run_id": ["a-0", "a-1", "b-0"], "point_id": ["a", "a", "b"], "pue": [1.1, 1.2, 1.3]})
    sens = pd.DataFrame({"kpi": ["pue"], "driver": ["x"], "low": [1.1], "high": [1.3], "at_low": [0], "at_high": [1]})
    pages = []
    for parent in ("one", "two"):
        folder = tmp_path / parent / "sweep"
        folder.mkdir(parents=True)
        pages.append(write_sweep_report(folder, runs, pd.DataFrame(), sens).read_bytes())
    assert pages[0] == pages[1]
    assert b'id="fig-pue-distribution"' in pages[0] and b'id="fig-pue-tornado"' in pages[0]
