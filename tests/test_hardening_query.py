"""The query sandbox: one SELECT over the verified run's own tables; no file, network, extension or
configuration access; time and memory limits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dctwin.errors import InputError
from dctwin.report import connect, query
from run_fixture import make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("sandbox"), "q")


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM 'CSV'",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM parquet_metadata('PQ')",
    "SELECT * FROM read_parquet('PQ')",
])
def test_no_file_is_read(run_dir, tmp_path, sql):
    import shutil

    (tmp_path / "secret.csv").write_text("a,b\n1,2\n")
    shutil.copy(run_dir / "jobs.parquet", tmp_path / "outside.parquet")
    sql = sql.replace("CSV", str(tmp_path / "secret.csv")).replace("PQ", str(tmp_path / "outside.parquet"))
    with pytest.raises(InputError):
        query(run_dir, sql)


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1) TO 'TARGET'",
    "SELECT 1; COPY (SELECT 1) TO 'TARGET'",
    "ATTACH 'TARGET' AS x",
    "SELECT 1; ATTACH 'TARGET' AS x",
    "EXPORT DATABASE 'TARGET'",
])
def test_nothing_is_written(run_dir, tmp_path, sql):
    target = tmp_path / "out.csv"
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    with pytest.raises(InputError):
        query(run_dir, sql.replace("TARGET", str(target)))
    with pytest.raises(InputError):
        query(run_dir, sql.replace("TARGET", str(run_dir / "timeseries.parquet")))
    assert not target.exists()
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("sql", ["INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true",
                                 "SELECT 1; SET enable_external_access = true", "PRAGMA enable_profiling"])
def test_no_extension_or_setting(run_dir, sql):
    with pytest.raises(InputError):
        query(run_dir, sql)


def test_notebook_connection_is_locked_too(run_dir, tmp_path):
    con = connect(run_dir)
    try:
        assert con.execute("SELECT count(*) FROM timeseries").fetchone()[0] > 0
        for sql in (f"COPY timeseries TO '{tmp_path / 'x.csv'}'", "SELECT * FROM read_csv('/etc/passwd')",
                    "SET enable_external_access = true", "INSTALL httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    finally:
        con.close()
    assert not (tmp_path / "x.csv").exists()


def test_time_limit_stops_a_runaway_query(run_dir):
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="time limit"):
        query(run_dir, "SELECT count(*) FROM range(10000000000) a", timeout_s=1.0)
    assert time.perf_counter() - t0 < 15


def test_memory_limit_stops_a_greedy_query(run_dir):
    with pytest.raises(InputError, match="memory limit"):
        query(run_dir, "SELECT list(range) FROM range(200000000)", memory_mb=64, timeout_s=60)


def test_tables_come_from_the_manifest_only(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "r"
    shutil.copytree(run_dir, copy)
    shutil.copy(copy / "jobs.parquet", copy / "planted.parquet")
    with pytest.raises(InputError, match="planted"):
        query(copy, "SELECT * FROM planted")


def test_a_result_larger_than_the_memory_limit_is_refused_while_it_is_read(run_dir):
    # the result frame was built outside DuckDB's limit: 30 million rows took 2 GB under --memory-mb 16
    with pytest.raises(InputError, match="16 MB memory limit"):
        query(run_dir, "SELECT * FROM range(30000000)", memory_mb=16, timeout_s=60)
    assert len(query(run_dir, "SELECT * FROM range(300000)", memory_mb=16)) == 300_000


def _query_cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dctwin", "query", *args], stderr=subprocess.PIPE, **popen)


def test_timeout_covers_writing_the_output_to_a_reader_that_stopped(run_dir):
    # the write was outside --timeout: with a reader that stopped reading, `--timeout 2` hung until the reader left
    proc = _query_cli(str(run_dir), "SELECT * FROM timeseries, range(200)", "--format", "csv", "--timeout", "2",
                      stdout=subprocess.PIPE)  # never read: the pipe fills after 64 KiB and the write blocks
    t0 = time.monotonic()
    try:
        rc = proc.wait(timeout=60)
    finally:
        proc.kill()
    elapsed = time.monotonic() - t0
    err = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    assert rc == 2 and "2 s time limit" in err and "output written so far is incomplete" in err, err
    assert "Traceback" not in err
    assert elapsed < 2 + 20  # the limit plus Python's start-up and imports on a busy machine


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_output_written_in_slices_is_the_whole_frame(run_dir, tmp_path, fmt):
    sql = "SELECT t_s, range AS k, it_power_kw FROM timeseries, range(150) ORDER BY t_s, k"  # over two slices
    out = tmp_path / f"o.{fmt}"
    with open(out, "wb") as f:
        proc = _query_cli(str(run_dir), sql, "--format", fmt, stdout=f)
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
        proc.stderr.close()
    frame = query(run_dir, sql)
    assert len(frame) > 20_000
    whole = frame.to_csv(index=False) if fmt == "csv" else frame.to_json(orient="records") + "\n"
    assert out.read_text() == whole


def test_a_table_too_long_to_align_is_refused(run_dir, cli):
    proc = cli("query", str(run_dir), "SELECT t_s FROM timeseries, range(400)")
    assert proc.returncode == 2 and "too many for an aligned table" in proc.stderr and "--format csv" in proc.stderr
    assert proc.stdout == ""
