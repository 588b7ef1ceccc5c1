"""Readers for hourly prices and carbon intensity in the formats people download.

* ``entsoe``: ENTSO-E Transparency Platform, "Day-ahead Prices" CSV export
  (``"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]",...``; MTU cells
  ``01.01.2023 00:00 - 01.01.2023 01:00``, optionally ``(CET)``/``(CEST)``;
  hourly or 15-minute MTUs).
* ``nordpool``: Nord Pool data portal CSV export (``Delivery Start (CET)``,
  ``Delivery End (CET)``, one ``<AREA> (EUR)`` column per area; ``,`` or
  ``;`` separated, decimal comma with ``;``).
* ``electricitymaps``: Electricity Maps CSV download (``Datetime (UTC)``,
  ``Zone id``, ``Carbon intensity gCO₂eq/kWh (Life cycle)`` or ``(direct)``).
* ``uk_carbon_intensity``: JSON saved from the GB Carbon Intensity API
  (``{"data": [{"from", "to", "intensity": {"actual", ...}}]}``, half-hourly).

Local times are read in the file's own time zone (CET/CEST, EET/EEST, ... with
the repeated autumn hour taken from its ``(CET)``/``(CEST)`` mark or, if
unmarked, from the order of the rows), converted to UTC, checked (no gaps,
duplicates or unsorted rows: refused with the line number), averaged to hours
and returned in the site's local standard time, the clock of every dctwin
series. Every problem raises ``InputError`` naming the file, line and reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.site.readers import _read_text
from dctwin.timeparse import parse_timestamps, standard_offset_s

__all__ = ["CARBON_FORMATS", "PRICE_FORMATS", "read_carbon_file", "read_price_file", "standard_offset_s"]

PRICE_FORMATS = ("plain", "entsoe", "nordpool")
CARBON_FORMATS = ("plain", "electricitymaps", "uk_carbon_intensity")
_TZ_LABELS = {"CET/CEST": "Europe/Brussels", "CET": "Europe/Brussels", "EET/EEST": "Europe/Helsinki",
              "EET": "Europe/Helsinki", "WET/WEST": "Europe/Lisbon", "WET": "Europe/Lisbon",
              "GMT/BST": "Europe/London", "UK": "Europe/London", "UTC": "UTC", "GMT": "UTC"}
_STEPS_S = (900, 1800, 3600)
_PRICE_RANGE = (-5000.0, 20000.0)  # EUR/MWh: SDAC harmonised min/max clearing prices are -500 and +4,000
_CARBON_RANGE = (0.0, 2000.0)  # gCO2/kWh


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a delimited text file (',', ';' or tab, sniffed from the header line)."""
    text = _read_text(path).lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delim = max((";", ",", "\t"), key=first.count)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    except csv.Error:  # a bare carriage return inside an unquoted field, or broken quoting
        raise InputError("not a readable delimited text file: a line break or quote inside a field",
                         file=str(path), allowed="rows ending in LF or CRLF, fields with line breaks quoted") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 3:
        raise InputError("needs a header and at least two rows", file=str(path), value=len(rows))
    return [c.strip() for c in rows[0]], rows[1:]


def _col(header: list[str], file: str, *patterns: str) -> int:
    for pat in patterns:
        for i, name in enumerate(header):
            if re.search(pat, name, flags=re.IGNORECASE):
                return i
    raise InputError("column not found", file=file, field="header", value=", ".join(header),
                     allowed=" or ".join(patterns))


def _tz_of(header_cell: str, file: str) -> str:
    m = re.search(r"\(([^)]*)\)", header_cell)
    label = m.group(1).strip().upper() if m else ""
    if label not in _TZ_LABELS:
        raise InputError("unknown time zone in the time column's header", file=file, field="header",
                         value=header_cell, allowed=", ".join(sorted(_TZ_LABELS)))
    return _TZ_LABELS[label]


def _number(cell: str, decimal_comma: bool, file: str, line: int, what: str) -> float:
    s = cell.strip().replace(",", ".") if decimal_comma else cell.strip()
    try:
        v = float(s)
    except ValueError:
        raise InputError("not a number (missing values are refused, not filled)", file=file,
                         field=f"line {line}, {what}", value=cell) from None
    if not np.isfinite(v):
        raise InputError("not a finite number", file=file, field=f"line {line}, {what}", value=cell)
    return v


_TIME_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def _parse_time(cell: str, file: str, line: int) -> tuple[dt.datetime, str | None]:
    """Naive start time of a period and its daylight-saving mark ('CET', 'CEST', ... or None)."""
    s = cell.strip()
    mark = re.search(r"\(([A-Z]{3,4})\)\s*$", s)
    s = s[: mark.start()].strip() if mark else s
    start = s.split(" - ")[0].strip()  # local time in the header's zone: a UTC offset is not part of these exports
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(start, fmt), (mark.group(1) if mark else None)
        except ValueError:
            continue
    raise InputError("not a time", file=file, field=f"line {line}, time", value=cell,
                     allowed="e.g. 01.01.2023 00:00 - 01.01.2023 01:00, or 2023-01-01 00:00:00")


def _iso_utc_s(cells: list[str], file: str, where) -> np.ndarray:
    """UTC seconds of ISO 8601 period starts labelled UTC: the shared rules (``dctwin.timeparse``), naive = UTC."""
    utc = parse_timestamps(pd.Series(cells, dtype=object), file=file, where=where, naive=0.0)
    return utc.as_unit("ns").asi8 // 1_000_000_000


def _to_utc(times: list[tuple[dt.datetime, str | None]], tz_name: str, lines: list[int], file: str) -> np.ndarray:
    """UTC seconds of local period starts; the repeated autumn hour by its mark, else by row order."""
    tz = ZoneInfo(tz_name)
    out = np.empty(len(times), dtype=np.int64)
    seen: set[dt.datetime] = set()
    for k, (t, mark) in enumerate(times):
        a, b = t.replace(tzinfo=tz, fold=0), t.replace(tzinfo=tz, fold=1)
        if a.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != t:
            raise InputError(f"this local time does not exist in {tz_name} (clocks jump forward)", file=file,
                             field=f"line {lines[k]}, time", value=str(t))
        if a.utcoffset() != b.utcoffset():  # the repeated hour in autumn
            if mark is not None:
                fold = 0 if a.tzname() == mark else 1 if b.tzname() == mark else None
                if fold is None:
                    raise InputError("daylight-saving mark does not fit this hour", file=file,
                                     field=f"line {lines[k]}, time", value=mark,
                                     allowed=f"{a.tzname()} or {b.tzname()}")
            else:
                fold = 1 if t in seen else 0
            a = t.replace(tzinfo=tz, fold=fold)
        seen.add(t)
        out[k] = int(a.timestamp())
    return out


def _hourly(utc_s: np.ndarray, values: np.ndarray, lines: list[int], file: str, col: str,
            tz_name: str, lo_hi: tuple[float, float]) -> pd.DataFrame:
    """Check order, duplicates, gaps and range; average sub-hourly periods to hours; local standard time."""
    d = np.diff(utc_s)
    for bad, why in ((d < 0, "row is earlier than the row before (rows must be sorted by time)"),
                     (d == 0, "duplicate time (this period is already in the file)")):
        if bad.any():
            k = int(np.flatnonzero(bad)[0]) + 1
            raise InputError(why, file=file, field=f"line {lines[k]}, time",
                             value=str(pd.Timestamp(utc_s[k], unit="s", tz="UTC")))
    step = int(d.min()) if d.size else 3600
    if step not in _STEPS_S:
        raise InputError("periods must be 15, 30 or 60 minutes", file=file, field=f"line {lines[1]}, time",
                         value=f"{step} s")
    gap = np.flatnonzero(d != step)
    if gap.size:
        k = int(gap[0]) + 1
        raise InputError(f"gap: {(int(d[k - 1]) - step) // 60} minutes missing before this row", file=file,
                         field=f"line {lines[k]}, time", value=str(pd.Timestamp(utc_s[k], unit="s", tz="UTC")),
                         allowed="consecutive periods without gaps")
    out_of = np.flatnonzero((values < lo_hi[0]) | (values > lo_hi[1]))
    if out_of.size:
        k = int(out_of[0])
        raise InputError("value out of range", file=file, field=f"line {lines[k]}, {col}", value=float(values[k]),
                         allowed=f"{lo_hi[0]:g} to {lo_hi[1]:g}")
    per_hour = 3600 // step
    first = int(np.flatnonzero(utc_s % 3600 == 0)[0]) if (utc_s % 3600 == 0).any() else None
    if first is None or (values.size - first) < per_hour:
        raise InputError("holds no whole hour", file=file, value=values.size)
    n = (values.size - first) // per_hour
    hourly = values[first : first + n * per_hour].reshape(n, per_hour).mean(axis=1)
    local = utc_s[first : first + n * per_hour : per_hour] + standard_offset_s(tz_name)
    return pd.DataFrame({"timestamp": pd.to_datetime(local, unit="s"), col: hourly})


def _rows_of(rows: list[list[str]], header: list[str], file: str) -> list[tuple[int, list[str]]]:
    """(file line number, cells) of each data row; rows of the wrong width are refused."""
    out = []
    for k, r in enumerate(rows):
        line = k + 2
        if len(r) != len(header):
            raise InputError(f"row has {len(r)} fields, the header {len(header)}", file=file, field=f"line {line}")
        out.append((line, r))
    return out


def _read_entsoe(path: Path, site_tz: str) -> pd.DataFrame:
    file = str(path)
    header, rows = _table(path)
    t_col = _col(header, file, r"^MTU\b")
    p_col = _col(header, file, r"Day-ahead Price")
    s_col = next((i for i, h in enumerate(header) if h.lower().startswith("sequence")), None)
    tz_name = _tz_of(header[t_col], file)
    data = _rows_of(rows, header, file)
    if s_col is not None:  # newer exports list one row per auction sequence: keep the first sequence
        first_seq = data[0][1][s_col]
        data = [(ln, r) for ln, r in data if r[s_col] == first_seq]
    lines = [ln for ln, _ in data]
    times = [_parse_time(r[t_col], file, ln) for ln, r in data]
    values = np.array([_number(r[p_col], False, file, ln, header[p_col]) for ln, r in data])
    return _hourly(_to_utc(times, tz_name, lines, file), values, lines, file, "price_eur_per_mwh", site_tz,
                   _PRICE_RANGE)


def _read_nordpool(path: Path, zone: str, site_tz: str) -> pd.DataFrame:
    file = str(path)
    header, rows = _table(path)
    t_col = _col(header, file, r"^Delivery\s*Start")
    tz_name = _tz_of(header[t_col], file)
    areas = {h.split("(")[0].strip().upper(): i for i, h in enumerate(header) if re.search(r"\(EUR\)", h, re.I)}
    if zone.upper() not in areas:
        raise InputError(f"no price column for the scenario's zone {zone}", file=file, field="header",
                         value=", ".join(areas) or ", ".join(header), allowed=f"a column '{zone} (EUR)'")
    p_col = areas[zone.upper()]
    decimal_comma = ";" in _read_text(path).split("\n", 1)[0]
    data = _rows_of(rows, header, file)
    lines = [ln for ln, _ in data]
    times = [_parse_time(r[t_col], file, ln) for ln, r in data]
    values = np.array([_number(r[p_col], decimal_comma, file, ln, header[p_col]) for ln, r in data])
    return _hourly(_to_utc(times, tz_name, lines, file), values, lines, file, "price_eur_per_mwh", site_tz,
                   _PRICE_RANGE)


def _read_electricitymaps(path: Path, site_tz: str) -> pd.DataFrame:
    file = str(path)
    header, rows = _table(path)
    t_col = _col(header, file, r"^Datetime\s*\(UTC\)")
    c_col = _col(header, file, r"Carbon intensity.*Life ?cycle", r"Carbon intensity.*direct")
    data = _rows_of(rows, header, file)
    lines = [ln for ln, _ in data]
    utc_s = _iso_utc_s([r[t_col] for _, r in data], file, lambda i: f"line {lines[i]}, time")
    values = np.array([_number(r[c_col], False, file, ln, header[c_col]) for ln, r in data])
    return _hourly(utc_s, values, lines, file, "carbon_g_per_kwh", site_tz, _CARBON_RANGE)


def _read_uk_carbon(path: Path, site_tz: str) -> pd.DataFrame:
    file = str(path)
    try:
        data = json.loads(_read_text(path))["data"]
        if not isinstance(data, list) or len(data) < 2:
            raise ValueError("'data' must list at least two periods")
        starts = [str(p["from"]) for p in data]
        raw = [p["intensity"]["actual"] for p in data]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a Carbon Intensity API document: {exc}", file=file,
                         allowed='{"data": [{"from": ..., "intensity": {"actual": ...}}, ...]}') from None
    lines = list(range(len(data)))  # here 'line' is the index in "data"
    for k, v in enumerate(raw):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise InputError("no actual intensity (missing values are refused, not filled)", file=file,
                             field=f"data[{k}].intensity.actual", value=v)
    utc_s = _iso_utc_s(starts, file, lambda i: f"data[{i}].from")
    return _hourly(utc_s, np.asarray(raw, float), lines, file, "carbon_g_per_kwh", site_tz, _CARBON_RANGE)


def _read_plain(path: Path, columns: tuple[str, ...], site_tz: str) -> pd.DataFrame:
    """Plain CSV (``timestamp`` in local standard time and the named columns), hourly without gaps."""
    from dctwin.site.readers import read_grid_csv, read_plain_carbon_csv

    df = read_grid_csv(path, site_tz) if "price_eur_per_mwh" in columns else read_plain_carbon_csv(path, site_tz)
    s = df["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
    d = np.diff(s)
    bad = np.flatnonzero(d != 3600)
    if bad.size:
        k = int(bad[0]) + 1
        raise InputError(f"rows must be consecutive hours; {int(d[k - 1]) // 60} minutes after the previous row",
                         file=str(path), field=f"line {k + 2}, timestamp", value=str(df["timestamp"].iloc[k]))
    return df


def read_price_file(path: str | Path, fmt: str, zone: str, site_tz: str) -> pd.DataFrame:
    """Hourly ``timestamp`` (site local standard time) and ``price_eur_per_mwh`` [EUR/MWh] from a download.

    ``fmt``: 'plain' (also yields ``carbon_g_per_kwh``), 'entsoe' or 'nordpool'.
    """
    p = Path(path)
    if fmt == "entsoe":
        return _read_entsoe(p, site_tz)
    if fmt == "nordpool":
        return _read_nordpool(p, zone, site_tz)
    if fmt == "plain":
        return _read_plain(p, ("price_eur_per_mwh", "carbon_g_per_kwh"), site_tz)
    raise InputError("unknown price file format", file=str(p), value=fmt, allowed=", ".join(PRICE_FORMATS))


def read_carbon_file(path: str | Path, fmt: str, site_tz: str) -> pd.DataFrame:
    """Hourly ``timestamp`` (site local standard time) and ``carbon_g_per_kwh`` [gCO2/kWh] from a download."""
    p = Path(path)
    if fmt == "electricitymaps":
        return _read_electricitymaps(p, site_tz)
    if fmt == "uk_carbon_intensity":
        return _read_uk_carbon(p, site_tz)
    if fmt == "plain":
        return _read_plain(p, ("carbon_g_per_kwh",), site_tz)
    raise InputError("unknown carbon file format", file=str(p), value=fmt, allowed=", ".join(CARBON_FORMATS))
