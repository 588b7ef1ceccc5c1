"""The Standard Workload Format (Parallel Workloads Archive): one job per line, 18 numeric fields.

Fields used (1-based, as the format defines them): 2 submit time [s], 3 wait
time [s], 4 run time [s], 5 allocated processors, 8 requested processors, 11
status (1 completed, 0 failed, 5 cancelled), 12 user id. -1 marks a value
that was not recorded. Header comments start with ';'; ``UnixStartTime`` (with
``TimeZoneString`` when given, else UTC) sets the clock origin.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dctwin.errors import InputError
from dctwin.workload.traces import open_input

__all__ = ["read_swf_fields"]

_USED = {"submit": 1, "wait": 2, "run": 3, "alloc": 4, "req": 7, "status": 10, "user": 11}


def _header_origin(comments: list[str]) -> tuple[datetime | None, list[str]]:
    start, tz = None, None
    for c in comments:
        key, _, val = c.lstrip(";").strip().partition(":")
        if key.strip() == "UnixStartTime":
            try:
                start = int(val.strip())
            except ValueError:
                return None, [f"swf: UnixStartTime {val.strip()!r} is not a whole number; clock origin unknown"]
        elif key.strip() == "TimeZoneString":
            tz = val.strip()
    if start is None:
        return None, ["swf: no UnixStartTime in the header; hours are counted from the first submission"]
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz) if tz else UTC
    except (KeyError, ValueError, OSError):  # unknown (ZoneInfoNotFoundError is a KeyError) or malformed name
        return None, [f"swf: unknown TimeZoneString {tz!r}; clock origin unknown"]
    return datetime.fromtimestamp(start, zone).replace(tzinfo=None), []


def read_swf_fields(path: Path) -> tuple[dict[str, np.ndarray], datetime | None, list[str]]:
    """(fields used, clock origin of submit time 0, notes); InputError names the line of a bad record."""
    file = str(path)
    comments, rows, lines = [], [], []
    try:
        with io.TextIOWrapper(open_input(Path(path)), encoding="utf-8") as fh:
            for no, line in enumerate(fh, start=1):
                s = line.strip()
                if not s:
                    continue
                if s.startswith(";"):
                    comments.append(s)
                    continue
                rows.append(s)
                lines.append(no)
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not UTF-8 text (byte {exc.start})", file=file) from None
    except (OSError, EOFError) as exc:
        raise InputError(f"unreadable or truncated file: {exc}", file=file) from None
    fields = [r.split() for r in rows]
    for k, f in enumerate(fields):
        if len(f) != 18:
            raise InputError(f"line {lines[k]}: expected 18 fields, found {len(f)}", file=file, value=rows[k][:80])
    try:
        arr = np.array(fields, dtype=np.float64).reshape(len(fields), 18)
    except ValueError:
        k = next(i for i, f in enumerate(fields) if not all(_is_number(x) for x in f))
        raise InputError(f"line {lines[k]}: a field is not a number", file=file, value=rows[k][:80]) from None
    out = {name: arr[:, col] for name, col in _USED.items()}
    bad = ~np.isfinite(arr).all(axis=1) | (np.abs(arr) > 2.0**53).any(axis=1)
    bad |= (out["submit"] < 0) | (out["run"] < -1) | (out["wait"] < -1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"line {lines[k]}: negative time (other than -1), infinite or oversized value", file=file,
                         value=rows[k][:80], allowed="submit >= 0; -1 or >= 0 for wait and run time")
    t0, notes = _header_origin(comments)
    return out, t0, notes


def _is_number(x: str) -> bool:
    try:
        float(x)
        return True
    except ValueError:
        return False
