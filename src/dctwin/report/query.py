"""SQL over a run's Parquet tables with DuckDB, returning pandas DataFrames.

Each ``<name>.parquet`` in the run directory is a view called ``<name>``::

    >>> from dctwin.report import query
    >>> query("runs/borlange-2027-...", "SELECT month, pue FROM monthly ORDER BY month")  # doctest: +SKIP

``connect`` gives the DuckDB connection itself for longer notebook sessions.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from dctwin.errors import InputError
from dctwin.results.run_dir import read_manifest

__all__ = ["connect", "query", "tables"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tables(run_dir: str | Path) -> list[str]:
    """Names of the run's tables (its Parquet files)."""
    return sorted(p.stem for p in Path(run_dir).glob("*.parquet") if _NAME.match(p.stem))


def connect(run_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per Parquet table of the run."""
    run_dir = Path(run_dir)
    read_manifest(run_dir)  # InputError unless this is a complete run
    con = duckdb.connect(database=":memory:")
    for name in tables(run_dir):
        path = str((run_dir / f"{name}.parquet").resolve()).replace("'", "''")
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet(\'{path}\')')
    return con


def query(run_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run one SQL statement over the run's tables and return the result as a DataFrame."""
    if not isinstance(sql, str) or not sql.strip():
        raise InputError("empty SQL query", field="sql", allowed="a SELECT over " + ", ".join(tables(run_dir)))
    con = connect(run_dir)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"query failed: {first}", file=str(run_dir), field="sql",
                         allowed="SQL over the tables " + ", ".join(tables(run_dir))) from None
    finally:
        con.close()
