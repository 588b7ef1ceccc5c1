"""DuckDB queries over a run's Parquet tables, and the progress helpers."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dctwin.errors import InputError
from dctwin.report import connect, query, tables
from dctwin.report.progress import ProgressTracker, eta_s, format_eta, terminal_progress
from run_fixture import make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("q"), "q")


def test_tables_are_views_named_after_files(run_dir):
    assert tables(run_dir) == ["cost_lines", "failures", "jobs", "monthly", "timeseries"]
    con = connect(run_dir)
    views = set(con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").df()["view_name"])
    con.close()
    assert views == set(tables(run_dir))


def test_query_matches_pandas(run_dir):
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    out = query(run_dir, "SELECT sum(it_power_kw) AS it_kw, count(*) AS n FROM timeseries")
    assert isinstance(out, pd.DataFrame)
    assert out["n"].iloc[0] == len(ts)
    assert out["it_kw"].iloc[0] == pytest.approx(ts["it_power_kw"].sum(), rel=1e-12)
    jobs = query(run_dir, "SELECT kind, avg(wait_s) AS w FROM jobs GROUP BY kind ORDER BY kind")
    expected = pd.read_parquet(run_dir / "jobs.parquet").groupby("kind")["wait_s"].mean()
    np.testing.assert_allclose(jobs["w"].to_numpy(), expected.sort_index().to_numpy(), rtol=1e-12)


def test_bad_sql_names_the_tables(run_dir):
    with pytest.raises(InputError, match="timeseries"):
        query(run_dir, "SELECT nope FROM nowhere")
    with pytest.raises(InputError):
        query(run_dir, "   ")


def test_query_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(InputError):
        query(tmp_path, "SELECT 1")


def test_eta_extrapolates_linearly():
    assert eta_s(10.0, 0.25) == pytest.approx(30.0)
    assert eta_s(10.0, 0.0) is None
    assert eta_s(10.0, 1.0) == 0.0
    assert format_eta(3725) == "1:02:05 left"
    assert format_eta(None) == "estimating"


def test_tracker_never_goes_backwards():
    now = [0.0]
    t = ProgressTracker(clock=lambda: now[0])
    t("site", 0.5)
    t("cluster", 0.2)
    now[0] = 10.0
    assert t.fraction == 0.5 and t.stage == "cluster"
    assert t.eta_s == pytest.approx(10.0)


def test_terminal_progress_draws_after_the_delay():
    buf = io.StringIO()
    with terminal_progress(label="demo", delay_s=0.05, stream=buf) as progress:
        progress("site", 0.2)
        time.sleep(0.3)
        progress("cluster", 0.6)
    text = buf.getvalue()
    assert "demo" in text and "left" in text


def test_terminal_progress_quiet_for_short_runs():
    buf = io.StringIO()
    with terminal_progress(label="demo", delay_s=5.0, stream=buf) as progress:
        progress("site", 1.0)
    assert buf.getvalue() == ""
