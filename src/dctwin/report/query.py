"""SQL over a run's Parquet tables with DuckDB, returning pandas DataFrames, in a sandbox.

Each ``<name>.parquet`` the run's manifest lists is a table called ``<name>``::

    >>> from dctwin.report import query
    >>> query("runs/borlange-2027-...", "SELECT month, pue FROM monthly ORDER BY month")  # doctest: +SKIP

The run is verified (SHA-256 of every file) before any table is opened. The
tables are handed to DuckDB from Python (Arrow datasets), then DuckDB's own
file system and network access are switched off, extensions cannot be
installed or loaded, memory is capped and the configuration is locked: a
query reads the run's tables and nothing else, and writes nothing.
``query`` accepts one SELECT statement and interrupts it after a time limit.
``connect`` gives the same locked connection for longer notebook sessions.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd

from dctwin.errors import InputError
from dctwin.extras import require
from dctwin.results.run_dir import read_manifest, run_files

duckdb = require("duckdb", "SQL over a run (dctwin query)")

__all__ = ["connect", "query", "tables", "DEFAULT_TIMEOUT_S", "DEFAULT_MEMORY_MB"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 1024
_LOCKDOWN = ("SET enable_external_access = false", "SET autoinstall_known_extensions = false",
             "SET autoload_known_extensions = false", "SET allow_community_extensions = false",
             "SET allow_unsigned_extensions = false")


def _table_files(run_dir: Path) -> dict[str, Path]:
    manifest = read_manifest(run_dir)  # InputError unless complete and intact
    out = {}
    for name in run_files(manifest):
        stem = name.removesuffix(".parquet")
        if name.endswith(".parquet") and "/" not in name and _NAME.match(stem):
            out[stem] = run_dir / name
    return out


def tables(run_dir: str | Path) -> list[str]:
    """Names of the run's tables (the Parquet files its manifest lists)."""
    try:
        return sorted(_table_files(Path(run_dir)))
    except InputError:
        return []


def connect(run_dir: str | Path, memory_mb: int = DEFAULT_MEMORY_MB, threads: int = 2) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one table per Parquet file of the verified run, locked down."""
    import pyarrow.dataset as ds

    files = _table_files(Path(run_dir))
    if not 16 <= memory_mb <= 1 << 20:
        raise InputError("memory limit out of range", field="memory_mb", value=memory_mb, allowed="16 to 1048576 MB")
    con = duckdb.connect(database=":memory:", config={"threads": max(1, int(threads))})
    try:
        for name, path in files.items():
            con.register(name, ds.dataset(str(path), format="parquet"))
        for statement in _LOCKDOWN:
            con.execute(statement)
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        con.execute("SET max_temp_directory_size = '0B'")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _one_select(sql: str, names: list[str]) -> None:
    allowed = "one SELECT over the tables " + ", ".join(names)
    if not isinstance(sql, str) or not sql.strip():
        raise InputError("empty SQL query", field="sql", allowed=allowed)
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"query failed: {str(exc).splitlines()[0][:300]}", field="sql", allowed=allowed) from None
    if len(statements) != 1:
        raise InputError(f"{len(statements)} SQL statements given", field="sql", allowed=allowed)
    if statements[0].type != duckdb.StatementType.SELECT:
        raise InputError(f"only SELECT queries are run (got {statements[0].type.name})", field="sql",
                         allowed=allowed)


def _fetch(result, memory_mb: int) -> pd.DataFrame:
    """The result as one frame, read in chunks: a result larger than the memory limit is refused while it is read
    (``.df()`` built the whole frame outside DuckDB's limit: 2 GB for 30 million rows under --memory-mb 16)."""
    chunks, held = [], 0
    while True:
        chunk = result.fetch_df_chunk(vectors_per_chunk=64)
        held += int(chunk.memory_usage(index=False, deep=True).sum())
        if held > memory_mb * 2**20:
            raise duckdb.OutOfMemoryException("result larger than the memory limit")
        if len(chunk) == 0 and chunks:
            break
        chunks.append(chunk)
        if len(chunk) == 0:
            break
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def query(run_dir: str | Path, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S,
          memory_mb: int = DEFAULT_MEMORY_MB) -> pd.DataFrame:
    """Run one SELECT over the run's tables and return the result; interrupted after ``timeout_s`` [s]."""
    if not 0 < timeout_s <= 86_400:
        raise InputError("time limit out of range", field="timeout_s", value=timeout_s, allowed="0 < s <= 86400")
    con = connect(run_dir, memory_mb=memory_mb)
    names = sorted(r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall())
    timer = threading.Timer(timeout_s, con.interrupt)
    try:
        _one_select(sql, names)
        timer.start()
        return _fetch(con.execute(sql), memory_mb)
    except duckdb.InterruptException:
        raise InputError(f"query stopped after the {timeout_s:g} s time limit", file=str(run_dir), field="sql",
                         allowed="a cheaper query, or a longer --timeout") from None
    except duckdb.OutOfMemoryException:
        raise InputError(f"query needs more than the {memory_mb} MB memory limit", file=str(run_dir), field="sql",
                         allowed="a query with a smaller result, or a larger --memory-mb") from None
    except duckdb.Error as exc:
        raise InputError(f"query failed: {str(exc).splitlines()[0][:300]}", file=str(run_dir), field="sql",
                         allowed="one SELECT over the tables " + ", ".join(names)) from None
    finally:
        timer.cancel()
        con.close()
