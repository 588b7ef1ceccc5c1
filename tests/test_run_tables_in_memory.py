"""The report of `dctwin run` reads the run's tables from memory, not back from Parquet: the same frames, the same
report bytes, and never a table whose file changed since it was written."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import dctwin.results.run_dir as rd
from dctwin.config import load_scenario
from dctwin.orchestrator import run
from dctwin.report import write_report
from dctwin.report.build import report_html
from dctwin.report.data import load_run


def _short(name: str, days: float = 3):
    sc = load_scenario(name)
    return sc.model_copy(update={"simulation": sc.simulation.model_copy(update={"duration_days": days})})


@pytest.fixture(scope="module")
def staged_reads(tmp_path_factory):
    """(run folder, each table as read_table gave it inside ``finish``, the report written there)."""
    seen: dict = {}

    def finish(folder):
        assert rd._kept, "the tables written stay in memory while the run is finished"
        for p in sorted(folder.glob("*.parquet")):
            seen[p.stem] = rd.read_table(p)
        write_report(folder)

    out = tmp_path_factory.mktemp("mem") / "run"
    run(_short("borlange-2027"), out, finish=finish)
    return out, seen


def test_tables_from_memory_equal_what_parquet_gives(staged_reads):
    out, seen = staged_reads
    assert not rd._kept, "nothing stays in memory after the run is written"
    assert not [k for k in rd._verified if rd.STAGING_PREFIX in k], "nor the staging folder's verified signature"
    assert set(seen) >= {"timeseries", "jobs", "placements", "monthly"}
    for name, frame in seen.items():
        want = pd.read_parquet(out / f"{name}.parquet")
        assert_frame_equal(frame, want, check_exact=True)
        assert frame.attrs == want.attrs
    stored = pd.read_parquet(out / "timeseries.parquet")["timestamp"]
    assert seen["timeseries"]["timestamp"].dtype == stored.dtype  # Parquet's milliseconds, not the run's seconds


def test_report_from_memory_is_the_report_from_disk(staged_reads):
    out, _ = staged_reads
    assert (out / "report.html").read_text(encoding="utf-8") == report_html(load_run(out))


def test_a_table_changed_after_writing_is_read_from_its_file(tmp_path):
    got = {}

    def finish(folder):
        path = folder / "cost_lines.parquet"
        os.unlink(path)
        pd.DataFrame({"x": [1, 2, 3]}).to_parquet(path)  # another file in its place: read, not the table written
        got["cost_lines"] = rd.read_table(path)

    run(_short("borlange-2027", 1), tmp_path / "r", finish=finish)
    assert list(got["cost_lines"].columns) == ["x"] and len(got["cost_lines"]) == 3
