"""Writing a query's result under the command's time limit (``dctwin query --timeout``).

``--timeout`` bounds the whole command from the moment it starts: checking
the run's hashes, the query, formatting the result and writing it. A watchdog
thread ends the process with exit code 2 and a one-line error at the limit,
even while a write is blocked on a reader that stopped reading (a full pipe).
Output already written by then is incomplete and the error says so. CSV and
JSON are formatted and written in slices of rows, so their memory stays near
one slice; the aligned table needs every row at once and is refused above
``TABLE_MAX_ROWS`` rows.
"""

from __future__ import annotations

import os
import select
import threading
import time
from typing import BinaryIO

import pandas as pd

from dctwin.errors import InputError

__all__ = ["TABLE_MAX_ROWS", "Watchdog", "write_result"]

TABLE_MAX_ROWS = 100_000
_SLICE_ROWS = 20_000


class Watchdog:
    """Ends the process (exit 2, ``message`` on stderr) ``timeout_s`` [s] after it starts unless stopped first."""

    def __init__(self, timeout_s: float, message: str) -> None:
        self.deadline = time.monotonic() + timeout_s
        self._message = message
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def remaining_s(self) -> float:
        return max(self.deadline - time.monotonic(), 1e-3)

    def _fire(self) -> None:
        try:
            _, ready, _ = select.select([], [2], [], 0.5)  # a stderr nobody reads must not hold the exit back
            if ready:
                os.write(2, f"error: {self._message}\n".encode("utf-8", "replace"))
        finally:
            os._exit(2)


def _slices(frame: pd.DataFrame):
    for start in range(0, len(frame), _SLICE_ROWS):
        yield frame.iloc[start:start + _SLICE_ROWS]


def _encoded(frame: pd.DataFrame, fmt: str):
    """The result in ``fmt`` ('table', 'csv' or 'json') as byte pieces, the same bytes as one whole call."""
    if fmt == "table":
        if len(frame) > TABLE_MAX_ROWS:
            raise InputError(f"the result has {len(frame):,} rows, too many for an aligned table", field="--format",
                             value="table", allowed=f"up to {TABLE_MAX_ROWS:,} rows as a table; --format csv or json "
                             "for more (written as they are formatted)")
        yield frame.to_string(index=False).encode() + b"\n"
    elif fmt == "csv":
        yield frame.iloc[:0].to_csv(index=False).encode()
        for part in _slices(frame):
            yield part.to_csv(index=False, header=False).encode()
    else:
        sep = b"["
        for part in _slices(frame):
            yield sep + part.to_json(orient="records").encode()[1:-1]
            sep = b","
        yield (b"[" if sep == b"[" else b"") + b"]\n"


def write_result(frame: pd.DataFrame, fmt: str, out: BinaryIO) -> None:
    """Write ``frame`` to ``out`` in ``fmt``, slice by slice (the caller's watchdog bounds the time)."""
    for piece in _encoded(frame, fmt):
        out.write(piece)
    out.flush()
