"""The operator's job timeline: the largest jobs by GPU-hours, each bar first start to end, every
interruption of those jobs a cross on its bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dctwin.report.data import load_run
from dctwin.report.operator import TOP_JOBS, job_timeline
from run_fixture import make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return load_run(make_run(tmp_path_factory.mktemp("gantt"), "gantt", days=14))


def test_the_largest_jobs_are_drawn(run):
    fig = job_timeline(run)
    jobs = run.tables["jobs"]
    started = jobs[np.isfinite(jobs["start_s"])]
    expected = set(started.nlargest(TOP_JOBS, "gpu_s")["job_id"])
    bars = [t for t in fig.data if t.type == "bar"]
    drawn = {int(label.split(" ")[1]) for t in bars for label in t.y}
    assert drawn == expected


def test_bars_span_start_to_end_and_crosses_mark_interruptions(run):
    fig = job_timeline(run)
    jobs = run.tables["jobs"].set_index("job_id")
    origin = pd.Timestamp(run.tables["timeseries"]["timestamp"].iloc[0])
    for t in (t for t in fig.data if t.type == "bar"):
        for label, base, width_ms in zip(t.y, t.base, t.x, strict=True):
            job = jobs.loc[int(label.split(" ")[1])]
            gap = pd.Timestamp(base) - (origin + pd.Timedelta(seconds=float(job["start_s"])))
            assert abs(gap.total_seconds()) < 1e-3
            if np.isfinite(job["end_s"]):
                assert width_ms / 1000.0 == pytest.approx(job["end_s"] - job["start_s"])
    crosses = [t for t in fig.data if t.type == "scatter"]
    drawn = {int(label.split(" ")[1]) for t in fig.data if t.type == "bar" for label in t.y}
    hits = run.tables["failures"]["job_id"].isin(drawn).sum()
    assert sum(len(t.x) for t in crosses) == hits


def test_no_started_job_is_a_note_not_a_crash(tmp_path):
    from dctwin.report.data import Missing

    def edit(tables, kpis):
        tables["jobs"]["start_s"] = np.nan

    with pytest.raises(Missing, match="no job"):
        job_timeline(load_run(make_run(tmp_path, "idle", days=2, edit=edit)))
