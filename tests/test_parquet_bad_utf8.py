"""Parquet inputs whose string columns hold bytes that are not UTF-8 are refused on reading, with the file
named (exit 2 in the CLI), not met later as a decode error deep inside a reader."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dctwin.errors import InputError
from dctwin.telemetry.readers import read_telemetry_file
from dctwin.workload.traces import read_job_table


def _bad_utf8_parquet(path, table: pa.Table) -> None:
    """Write ``table`` uncompressed and plain, then put non-UTF-8 bytes where the text 'zzzz' was."""
    pq.write_table(table, path, compression="none", use_dictionary=False, write_statistics=False)
    raw = path.read_bytes()
    assert raw.count(b"zzzz") == 1
    path.write_bytes(raw.replace(b"zzzz", b"\xff\xfe\xfd\xfc"))


def test_job_table_with_broken_text_is_refused(tmp_path):
    path = tmp_path / "jobs.parquet"
    _bad_utf8_parquet(path, pa.table({"submit_s": [0.0, 5.0], "gpus": [8, 1], "duration_s": [100.0, 5.0],
                                      "tenant": ["a", "zzzz"]}))
    with pytest.raises(InputError, match="Parquet") as err:
        read_job_table(path)
    assert "jobs.parquet" in str(err.value)


def test_telemetry_with_broken_text_is_refused(tmp_path):
    path = tmp_path / "meters.parquet"
    _bad_utf8_parquet(path, pa.table({"timestamp": ["2027-01-01T00:00:00Z", "2027-01-01T00:01:00Z"],
                                      "metric": ["it_kw", "zzzz"], "value": [1.0, 2.0]}))
    with pytest.raises(InputError, match="Parquet") as err:
        read_telemetry_file(path, naive_timezone=None, epoch_unit=None)
    assert "meters.parquet" in str(err.value)
