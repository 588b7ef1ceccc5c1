"""Sweeps never lose runs: points are keyed by full field path, a short sweep exits non-zero naming what is missing."""

from __future__ import annotations

import textwrap

import pytest

from dctwin.errors import ScenarioError
from dctwin.sweep import expand_sweep, load_sweep
from dctwin.sweep.runner import gather
from dctwin.sweep.store import SweepStore

SAME_TAIL = """\
    name: tails
    base: borlange-2027
    overrides: {simulation: {duration_days: 1, step_s: 3600}}
    axes:
      - field: workload.inference[0].peak_requests_per_s
        values: [1000, 2000]
      - field: workload.inference[1].peak_requests_per_s
        values: [1000, 2000]
"""


def _sweep(tmp_path, body=SAME_TAIL):
    p = tmp_path / "sweep.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_axes_ending_in_the_same_name_give_distinct_points(tmp_path):
    p = _sweep(tmp_path)
    runs = expand_sweep(load_sweep(p), source=str(p))
    assert len(runs) == 4 and len({r.point_id for r in runs}) == 4 and len({r.run_id for r in runs}) == 4
    # the labels keep both axes apart, named by their full paths
    assert {len(r.axis_values) for r in runs} == {2}
    assert set(runs[0].axis_values) == {"workload.inference[0].peak_requests_per_s",
                                        "workload.inference[1].peak_requests_per_s"}


def test_phases_count_axes_do_not_collapse(tmp_path):
    p = _sweep(tmp_path, """\
        name: phases
        base: campus-600mw
        overrides: {simulation: {duration_days: 1, step_s: 3600}}
        axes:
          - field: phases[0].racks[0].count
            values: [80, 100]
          - field: phases[1].racks[0].count
            values: [800, 1000]
    """)
    runs = expand_sweep(load_sweep(p), source=str(p))
    assert len({r.point_id for r in runs}) == 4
    assert {tuple(r.axis_values.values()) for r in runs} == {(80, 800), (80, 1000), (100, 800), (100, 1000)}


def test_a_sweep_with_fewer_results_than_its_plan_names_the_missing(tmp_path):
    p = _sweep(tmp_path)
    runs = expand_sweep(load_sweep(p), source=str(p))
    store = SweepStore(tmp_path / "out")
    store.open(runs, p.read_text(), fresh=False)
    store.record_done(runs[0], {"pue": 1.1}, 0.1)
    outcome = gather(store, [r.run_id for r in runs])
    assert outcome.missing == [r.run_id for r in runs[1:]]


def test_cli_sweep_of_same_tail_axes_records_the_whole_grid(tmp_path, cli):
    out = tmp_path / "out"
    proc = cli("sweep", str(_sweep(tmp_path)), "--out", str(out), "-j", "2", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "4 runs finished, 0 failed" in proc.stdout
    assert len(list((out / "done").glob("*.json"))) == 4


def test_unreachable_ray_address_is_a_clear_error_not_a_hang(tmp_path, cli):
    import time

    t0 = time.perf_counter()
    proc = cli("sweep", str(_sweep(tmp_path)), "--out", str(tmp_path / "out"), "--ray", "127.0.0.1:1", "--quiet",
               timeout=120)
    assert time.perf_counter() - t0 < 60
    assert proc.returncode == 2 and "cannot reach a Ray cluster" in proc.stderr and "Traceback" not in proc.stderr


def test_killed_sweep_leaves_no_pool_workers(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from test_sweep_run import _children

    body = SAME_TAIL.replace("duration_days: 1", "duration_days: 30")
    proc = subprocess.Popen([sys.executable, "-m", "dctwin", "sweep", str(_sweep(tmp_path, body)), "--out",
                             str(tmp_path / "out"), "-j", "2", "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.2)
    assert len(workers) >= 2, "the sweep never started its pool"
    os.kill(proc.pid, signal.SIGKILL)             # the sweep only, not its process group
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    alive = workers
    while time.monotonic() < deadline and alive:
        alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]
        time.sleep(0.2)
    try:
        assert alive == [], f"pool workers outlived the killed sweep: {alive}"
    finally:
        for w in alive:
            os.kill(w, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_a_field_the_sweep_sets_itself_is_refused_not_ignored(tmp_path):
    # the seed axis ran every point with seed_start; a name axis or override was overwritten by the run name
    for extra in ("axes: [{field: simulation.seed, values: [1, 2]}]",
                  "overrides: {simulation: {duration_days: 1, seed: 7}}",
                  "axes: [{field: name, values: [a, b]}]"):
        p = _sweep(tmp_path, f"name: s\nbase: borlange-2027\n{extra}\n")
        with pytest.raises(ScenarioError, match="cannot be set by a sweep"):
            load_sweep(p)


def test_one_and_one_point_zero_are_one_axis_value(tmp_path):
    p = _sweep(tmp_path, "name: s\nbase: borlange-2027\naxes: [{field: site.elevation_m, values: [1, 1.0]}]\n")
    with pytest.raises(ScenarioError, match="values must be distinct"):
        load_sweep(p)


@pytest.mark.parametrize("damage", ["truncated", "empty", "foreign", "failed-truncated"])
def test_a_damaged_run_record_is_redone_not_a_traceback_or_counted(tmp_path, damage):
    # resuming over a truncated done/<run>.json raised JSONDecodeError; a record of a run not in the plan counted
    p = _sweep(tmp_path)
    runs = expand_sweep(load_sweep(p), source=str(p))
    store = SweepStore(tmp_path / "out")
    store.open(runs, p.read_text(), fresh=False)
    for r in runs:
        store.record_done(r, {"pue": 1.1}, 0.1)
    done = store.done_dir / f"{runs[0].run_id}.json"
    if damage == "truncated":
        done.write_text(done.read_text()[:20])
    elif damage == "empty":
        done.write_text("")
    elif damage == "foreign":
        (store.done_dir / "p999_x-r0.json").write_text(done.read_text().replace(runs[0].run_id, "p999_x-r0"))
    else:
        (store.failed_dir / f"{runs[1].run_id}.json").write_text('{"run_id"')
    finished = store.finished_ids()
    outcome = gather(store, [r.run_id for r in runs])
    assert len(outcome.runs) == (3 if damage in ("truncated", "empty") else 4)
    assert outcome.failed == {} and set(outcome.runs["run_id"]) <= {r.run_id for r in runs}
    if damage in ("truncated", "empty"):
        assert runs[0].run_id not in finished and outcome.missing == [runs[0].run_id]


def test_a_resumed_sweep_rereads_only_intact_sealed_records(tmp_path):
    # a FIFO named like a record blocked the resumed sweep for good; an edited KPI in a finished run's record
    # was gathered as that run's result
    import json
    import os
    import threading

    from dctwin.sweep import run_sweep

    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\noverrides: {simulation: {duration_days: 1, step_s: 3600}}\naxes:\n"
                    "  - {field: economics.finance.wacc, values: [0.1, 0.12]}\n")
    first = run_sweep(spec, tmp_path / "out", workers=1)
    done = sorted((tmp_path / "out" / "done").glob("*.json"))
    rec = json.loads(done[0].read_text())
    true_pue = rec["kpis"]["pue"]
    rec["kpis"]["pue"] = 0.5
    done[0].write_text(json.dumps(rec))
    os.mkfifo(tmp_path / "out" / "done" / "zz.json")
    out = []
    worker = threading.Thread(target=lambda: out.append(run_sweep(spec, tmp_path / "out", workers=1)), daemon=True)
    worker.start()
    worker.join(300)
    assert out, "the resumed sweep blocked on a FIFO in done/"
    again = out[0]
    assert len(again.runs) == 2 and not again.missing
    assert again.runs.set_index("run_id").loc[rec["run_id"], "pue"] == true_pue != 0.5  # rerun, not the edit
    assert sorted(first.runs["run_id"]) == sorted(again.runs["run_id"])
    assert not (tmp_path / "out" / "done" / "zz.json").exists()


def test_a_worker_count_no_machine_holds_is_refused_before_anything_starts(tmp_path, cli):
    # `-j 100000` was handed to a process pool that forks all its workers at once on Linux (each worker holds a
    # run: 0.3-0.5 GB); do not run this test against the old code
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\noverrides: {simulation: {duration_days: 1, step_s: 3600}}\n")
    proc = cli("sweep", str(spec), "-j", "100000", "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 2 and "--workers" in proc.stderr and "1 to 256" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_an_axis_over_mappings_is_summarised_not_a_crash():
    # an axis over pre-training layouts ({tp, pp, dp}) crashed the summary after every run had finished
    # (pandas: unhashable type 'dict'); each value is now its canonical JSON in the tables
    from dctwin.sweep.summary import percentiles, runs_table, sensitivity

    layouts = [{"tp": 4, "pp": 8, "dp": 128}, {"dp": 64, "pp": 8, "tp": 8}]
    rows = [{"run_id": f"p{i}-r{r}", "point_id": f"p{i}", "repetition": r, "seed": r, "wall_s": 1.0,
             "axes": {"layout": lay}, "kpis": {"pue": 1.1 + 0.01 * i + 0.001 * r}}
            for i, lay in enumerate(layouts) for r in range(2)]
    table = runs_table(rows)
    assert table["axis:layout"].tolist()[:2] == ['{"dp": 128, "pp": 8, "tp": 4}'] * 2
    sens = sensitivity(table, kpis=("pue",))
    assert sens.loc[sens["driver"] == "layout", "spread"].item() == pytest.approx(0.01)
    assert len(percentiles(table)) == 2
