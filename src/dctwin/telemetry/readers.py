"""Readers of telemetry as operators export it; each returns raw series in UTC epoch seconds.

Formats:
- tables (CSV or Parquet), wide (a time column and one column per series) or long
  (time, series name, value, and any other columns as labels);
- the Prometheus text exposition format (samples must carry their millisecond timestamps);
- a Prometheus range-query JSON export (``resultType: matrix``).
Timestamps must be read exactly: ISO 8601 with an offset (``Z`` is UTC), or naive ISO in
the mapping's ``naive_timezone`` (a non-existent or ambiguous local time at a daylight-saving
change is refused), or numbers in the mapping's ``epoch_unit``. Anything else is refused with
the file, the row and the reason.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.timeparse import naive_to_utc, parse_timestamps

__all__ = ["RawSeries", "parse_csv_text", "parse_exposition", "read_telemetry_file"]

MAX_FILE_BYTES = 2 << 30
_TIME_COLUMNS = ("time", "timestamp", "ts", "datetime", "date_time")
_NAME_COLUMNS = ("series", "metric", "name", "__name__")


@dataclass
class RawSeries:
    name: str
    labels: dict[str, str]
    t_s: np.ndarray  # UTC epoch seconds [s]
    values: np.ndarray
    rows: np.ndarray  # 1-based row (line) number of each sample in the file, for messages
    file: str = ""
    extra: dict = field(default_factory=dict)


def read_telemetry_file(path: str | Path, *, naive_timezone: str | None, epoch_unit: str | None) -> list[RawSeries]:
    """Every series in one telemetry file, format chosen by the file name and its first bytes. The file is
    opened once (regular file, size cap, timeout; ``dctwin.safeio.read_input``) and parsed from those bytes."""
    from dctwin.safeio import read_input

    p = Path(path)
    data, file = read_input(p, MAX_FILE_BYTES, what="telemetry file").data, str(p)
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        return _from_table(_read_parquet(data, file), file, naive_timezone, epoch_unit, first_row=1)
    head = data[:256].lstrip()
    if suffix == ".json" or head.startswith(b"{"):
        return _read_prometheus_json(data, file)
    if suffix in (".prom", ".txt", ".metrics") or head.startswith(b"#"):
        return _read_exposition(data, file)
    return _from_table(_read_csv(data, file), file, naive_timezone, epoch_unit, first_row=2)


# ------------------------------------------------------------------ tables
def parse_csv_text(text: str, file: str, *, naive_timezone: str | None, epoch_unit: str | None,
                   first_row: int = 2) -> list[RawSeries]:
    """Series of CSV text with its header line (for a file that grows: the header plus the new lines)."""
    import io

    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"not a readable CSV table: {str(exc).splitlines()[0][:200]}", file=file) from None
    _one_column_per_name(text.split("\n", 1)[0], file)
    return _from_table(df, file, naive_timezone, epoch_unit, first_row=first_row)


def _one_column_per_name(header: str, file: str) -> None:
    """A header naming one column twice is refused: pandas renames the second (x.1) and a mapping's source x
    would silently read the first."""
    import csv

    names = [c.strip() for c in next(csv.reader([header]), [])]
    twice = [c for c in dict.fromkeys(names) if names.count(c) > 1]
    if twice:
        raise InputError("column given twice in the header", file=file, field=twice[0][:60],
                         allowed="each column once")


def _read_csv(data: bytes, file: str) -> pd.DataFrame:
    from dctwin.safeio import csv_text

    text = csv_text(data, file)  # UTF-8 and comma-separated, or refused by name
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        _one_column_per_name(text.split("\n", 1)[0], file)
        return df
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable CSV table: {str(exc).splitlines()[0][:200]}", file=file) from None
    except pd.errors.EmptyDataError:
        raise InputError("file is empty", file=file) from None


def _read_parquet(data: bytes, file: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
        table.validate(full=True)     # bytes that are not UTF-8 in a string column: refused here, not later
        return table.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {str(exc)[:200]}", file=file) from None


def _column(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).strip().lower(): c for c in df.columns}
    return next((lower[n] for n in names if n in lower), None)


def _from_table(df: pd.DataFrame, file: str, zone: str | None, epoch_unit: str | None, first_row: int):
    tcol = _column(df, _TIME_COLUMNS)
    if tcol is None:
        raise InputError("no time column", file=file, allowed=", ".join(_TIME_COLUMNS))
    if len(df) == 0:
        raise InputError("table has no rows", file=file)
    t_s = parse_times(df[tcol], file, zone, epoch_unit, first_row)
    rows = np.arange(first_row, first_row + len(df))
    ncol, vcol = _column(df, _NAME_COLUMNS), _column(df, ("value",))
    if ncol is not None and vcol is not None:
        return _long_series(df, file, tcol, ncol, vcol, t_s, rows)
    return [RawSeries(str(c), {}, t_s, _numbers(df[c], file, str(c), first_row), rows, file)
            for c in df.columns if c != tcol]


def _long_series(df, file, tcol, ncol, vcol, t_s, rows) -> list[RawSeries]:
    values = _numbers(df[vcol], file, str(vcol), int(rows[0]))
    label_cols = [c for c in df.columns if c not in (tcol, ncol, vcol)]
    keys = df[[ncol, *label_cols]].astype(str)
    out = []
    for key, idx in keys.groupby(list(keys.columns), sort=True).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        labels = {str(c): v for c, v in zip(label_cols, key[1:], strict=True) if v != ""}
        out.append(RawSeries(key[0], labels, t_s[idx], values[idx], rows[idx], file))
    return out


def _numbers(col: pd.Series, file: str, name: str, first_row: int) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col):
        vals = col.to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
    else:
        text = col.astype(str).str.strip()
        vals = pd.to_numeric(text.where(text != "", "nan"), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(vals) & (text != "").to_numpy() | np.isinf(vals)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("not a finite number", file=file, field=f"{name}, row {first_row + i}",
                         value=str(col.iloc[i])[:40])
    return vals  # empty cells stay NaN: a gap


def parse_times(col: pd.Series, file: str, zone: str | None, epoch_unit: str | None, first_row: int) -> np.ndarray:
    """Timestamps as UTC epoch seconds, read exactly or refused with the row: epoch numbers (``epoch_unit``),
    typed date-times, or ISO 8601 text by the rules of ``dctwin.timeparse`` (naive ones in ``zone``)."""
    def where(i: int) -> str:
        return f"time, row {first_row + i}"

    hint = "offsets in the file (e.g. Z), or naive_timezone in the mapping"
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.DatetimeIndex(col)
        if ts.tz is None:
            ts = naive_to_utc(ts, zone, file, where, hint)
        return _epoch(ts)
    if pd.api.types.is_numeric_dtype(col):
        return _from_epoch(col.to_numpy(dtype=float), epoch_unit, file, first_row)
    text = col.astype(str).str.strip()
    if text.str.fullmatch(r"-?\d+(\.\d+)?").all():
        return _from_epoch(text.astype(float).to_numpy(), epoch_unit, file, first_row)
    return _epoch(parse_timestamps(text, file=file, where=where, naive=zone, naive_hint=hint))


def _from_epoch(vals: np.ndarray, unit: str | None, file: str, first_row: int) -> np.ndarray:
    if unit is None:
        raise InputError("numeric timestamps need epoch_unit (s or ms) in the mapping", file=file,
                         field=f"time, row {first_row}", value=float(vals[0]) if len(vals) else None)
    t = vals / 1000.0 if unit == "ms" else vals.astype(float)
    bad = ~_epoch_ok(t)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("timestamp outside 1970-2100", file=file, field=f"time, row {first_row + i}", value=vals[i])
    return t


def _epoch_ok(t_s):
    """Epoch seconds a reader accepts: finite, 1970 .. 2100 (a timestamp of 1e300 s or -1e12 s built a grid that
    could not be allocated, NaN one of no length)."""
    t_s = np.asarray(t_s, dtype=float)
    return np.isfinite(t_s) & (t_s >= 0) & (t_s <= 4.1e9)


def _epoch(ts: pd.DatetimeIndex) -> np.ndarray:
    return ts.tz_convert("UTC").as_unit("ns").asi8.astype(np.float64) / 1e9


# ------------------------------------------------------------------ Prometheus
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+(-?\d+))?\s*$")
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _labels(text: str, file: str, line: int) -> dict[str, str]:
    out, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if m is None:
            raise InputError("malformed label set", file=file, field=f"line {line}")
        out[m.group(1)] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
    return out


def _read_exposition(data: bytes, file: str) -> list[RawSeries]:
    """Prometheus/OpenMetrics text: ``name{labels} value timestamp_ms`` per line; HELP/TYPE comments skipped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not UTF-8 text (byte {exc.start})", file=file) from None
    return parse_exposition(text, file)


def parse_exposition(text: str, file: str, default_time_s: float | None = None) -> list[RawSeries]:
    """Samples of the exposition format; those without a timestamp take ``default_time_s`` (a live scrape),
    or are refused when it is None (a file must say when each sample was taken)."""
    groups: dict = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _SAMPLE.match(s)
        if m is None:
            raise InputError("not a sample line of the exposition format", file=file, field=f"line {line_no}")
        if m.group(6) is None and default_time_s is None:
            raise InputError("sample has no timestamp: export with timestamps (ms)", file=file,
                             field=f"line {line_no}")
        t_s = _exposition_time_s(m.group(6), default_time_s, file, line_no)
        labels = _labels(m.group(3) or "", file, line_no)
        key = (m.group(1), tuple(sorted(labels.items())))
        groups.setdefault(key, []).append((t_s, _float(m.group(4), file, line_no), line_no))
    return [_series_from_samples(name, dict(lbl), samples, file) for (name, lbl), samples in sorted(groups.items())]


def _exposition_time_s(ms: str | None, default_time_s: float | None, file: str, line: int) -> float:
    """A sample's time [epoch s] from its millisecond timestamp (or ``default_time_s``), 1970-2100."""
    try:
        t_s = int(ms) / 1000.0 if ms is not None else default_time_s
    except (ValueError, OverflowError):  # thousands of digits
        t_s = float("nan")
    if not _epoch_ok(t_s):
        raise InputError("timestamp outside 1970-2100", file=file, field=f"line {line}",
                         value=(ms or "")[:40] or t_s, allowed="milliseconds since 1970-01-01 UTC")
    return t_s


def _float(text: str, file: str, line: int) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError("value is not a number", file=file, field=f"line {line}", value=text[:40]) from None
    if np.isinf(v):
        raise InputError("value is infinite", file=file, field=f"line {line}")
    return v  # NaN is Prometheus' stale marker: a gap


def _series_from_samples(name, labels, samples, file) -> RawSeries:
    arr = np.array(samples, dtype=float)
    return RawSeries(name, labels, arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int64), file)


def _read_prometheus_json(data: bytes, file: str) -> list[RawSeries]:
    """A range query's JSON (``/api/v1/query_range``): data.result[*].metric and .values [[t_s, "v"], ...]."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"not valid JSON: {str(exc)[:120]}", file=file) from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise InputError("not a Prometheus range-query export", file=file, field="data.resultType",
                         allowed="matrix, as /api/v1/query_range returns")
    out = []
    for i, item in enumerate(data["result"]):
        where = f"data.result[{i}]"
        metric, values = (item.get("metric"), item.get("values")) if isinstance(item, dict) else (None, None)
        if not isinstance(metric, dict) or not isinstance(values, list):
            raise InputError("needs 'metric' and 'values'", file=file, field=where)
        labels = {str(k): str(v) for k, v in metric.items() if k != "__name__"}
        samples = []
        for j, pair in enumerate(values):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (int, float))
                    and not isinstance(pair[0], bool)):
                raise InputError("each value must be [time_s, \"value\"]", file=file, field=f"{where}.values[{j}]")
            if not _epoch_ok(pair[0]):
                raise InputError("timestamp outside 1970-2100", file=file, field=f"{where}.values[{j}]",
                                 value=pair[0], allowed="seconds since 1970-01-01 UTC")
            samples.append((float(pair[0]), _float(str(pair[1]), file, j), j))
        out.append(_series_from_samples(str(metric.get("__name__", "")), labels, samples, file) if samples else None)
    return [s for s in out if s is not None]
