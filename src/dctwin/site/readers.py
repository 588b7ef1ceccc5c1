"""Readers for user-supplied site series: EnergyPlus EPW weather and simple CSVs.

Every problem raises ``InputError`` naming the file, the line and the field.
EPW layout: 8 header lines, then one line per hour with (0-based fields)
0 year, 1 month, 2 day, 3 hour (1-24, hour ending), 4 minute, 5 data-source
flags, 6 dry bulb [°C], 7 dew point [°C], 8 relative humidity [%],
9 atmospheric pressure [Pa], ..., 21 wind speed [m/s] (EnergyPlus
"Auxiliary Programs" guide, chapter "Weather Converter Program", section
"EnergyPlus Weather File (EPW) Data Dictionary").
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.timeparse import UTC_OFFSET, parse_timestamps, standard_offset_s

__all__ = ["EPW_HEADER_LINES", "read_epw", "read_grid_csv", "read_heat_demand_csv", "read_plain_carbon_csv",
           "read_weather_csv", "refuse_rh_fraction"]

EPW_HEADER_LINES = 8
_EPW_FIELDS = {  # name: (index, missing code, low, high)
    "dry_bulb_c": (6, 99.9, -70.0, 70.0),
    "dew_point_c": (7, 99.9, -70.0, 70.0),
    "rel_humidity_pct": (8, 999.0, 0.0, 110.0),
    "atmospheric_pressure_pa": (9, 999999.0, 31000.0, 120000.0),
    "wind_speed_m_per_s": (21, 999.0, 0.0, 40.0),
}
_MAX_BYTES = 50 << 20
MAX_GAP_FLOOR_S = 3 * 3600.0
_COLUMN_NAME = re.compile(r"[A-Za-z0-9_ .%()/\[\]-]{1,60}")


def _read_text(path: Path) -> str:
    from dctwin.safeio import read_input

    # a regular file, size checked first, read with a timeout; once per run (dctwin.safeio.read_once)
    return read_input(path, _MAX_BYTES, what="series file").data.decode("utf-8", errors="replace")


def read_epw(path: str | Path) -> pd.DataFrame:
    """Hourly rows of an EPW file: year, month, day, hour (1-24), minute, dry_bulb_c [°C],
    dew_point_c [°C], rel_humidity_pct [%], atmospheric_pressure_pa [Pa], wind_speed_m_per_s [m/s].

    A full typical year has 8,760 rows (8,784 for a leap year); fewer, or any
    unreadable, missing or out-of-range value, raises ``InputError``.
    """
    file = str(path)
    rows = _epw_rows(_read_text(Path(path)), file)
    out: dict[str, np.ndarray] = {}
    for name, idx in (("year", 0), ("month", 1), ("day", 2), ("hour", 3), ("minute", 4)):
        out[name] = _column(rows, idx, name, file, integer=True)
    for name, (idx, missing, lo, hi) in _EPW_FIELDS.items():
        col = _column(rows, idx, name, file, integer=False)
        bad = np.flatnonzero(~np.isfinite(col) | (col == missing) | (col < lo) | (col > hi))
        if bad.size and name in ("dry_bulb_c", "rel_humidity_pct"):
            i = int(bad[0])
            raise InputError(
                "missing or out-of-range value",
                file=file,
                field=f"line {EPW_HEADER_LINES + i + 1}, {name}",
                value=float(col[i]),
                allowed=f"{lo} to {hi}",
            )
        if bad.size:  # optional columns: mark unknown
            col = col.copy()
            col[bad] = np.nan
        out[name] = col
    for name, lo, hi in (("month", 1, 12), ("day", 1, 31), ("hour", 1, 24)):
        _refuse_outside(out[name], lo, hi, file, lambda i, n=name: f"line {EPW_HEADER_LINES + i + 1}, {n}")
    _refuse_hour_order(out["hour"], file)
    refuse_rh_fraction(out["rel_humidity_pct"], file, "rel_humidity_pct (EPW field 9)",
                       "percent, 0 to 110, as the EPW format defines it")
    return pd.DataFrame(out)


def _epw_rows(text: str, file: str) -> list[list[str]]:
    """The comma-split data rows of an EPW text: a whole year after the 8 header lines, 22 fields or more each."""
    lines = text.splitlines()
    if len(lines) < EPW_HEADER_LINES or not lines[0].startswith("LOCATION"):
        raise InputError(
            "not an EPW file: line 1 must start with LOCATION and 8 header lines must follow", file=file, field="line 1"
        )
    data = [ln for ln in lines[EPW_HEADER_LINES:]]
    while data and not data[-1].strip():
        data.pop()
    if len(data) not in (8760, 8784):
        raise InputError(
            "EPW file must hold a whole year of hourly rows (8760 or 8784)",
            file=file,
            field=f"line {EPW_HEADER_LINES + len(data) + 1}",
            value=len(data),
            allowed="8760 or 8784 rows",
        )
    rows = [ln.split(",") for ln in data]
    short = [i for i, r in enumerate(rows) if len(r) < 22]
    if short:
        i = short[0]
        raise InputError(
            "row has too few fields",
            file=file,
            field=f"line {EPW_HEADER_LINES + i + 1}",
            value=len(rows[i]),
            allowed="at least 22 comma-separated fields",
        )
    return rows


def _refuse_hour_order(hour: np.ndarray, file: str) -> None:
    """Every EPW day is 24 rows, hours 1 to 24 in order (local standard time): a skipped or repeated hour, as a
    daylight-saving file's 23- and 25-hour days have, is refused (it was averaged or filled in silently)."""
    bad = np.flatnonzero(hour != np.arange(hour.size) % 24 + 1)
    if bad.size:
        i = int(bad[0])
        raise InputError("hours out of order: each day must hold hours 1 to 24 in turn", file=file,
                         field=f"line {EPW_HEADER_LINES + i + 1}, hour", value=int(hour[i]),
                         allowed=f"{i % 24 + 1} (EPW rows are local standard time all year: no daylight-saving "
                                 "hour skipped in spring or repeated in autumn)")


def _column(rows: list[list[str]], idx: int, name: str, file: str, *, integer: bool) -> np.ndarray:
    vals = [r[idx].strip() for r in rows]
    try:
        return np.array(vals, dtype=np.int64 if integer else np.float64)
    except (ValueError, OverflowError):
        for i, v in enumerate(vals):
            try:
                x = int(v) if integer else float(v)
            except ValueError:
                raise InputError(
                    "not a number", file=file, field=f"line {EPW_HEADER_LINES + i + 1}, {name}", value=v
                ) from None
            if integer and abs(x) >= 2**63:
                raise InputError(
                    "number too large", file=file, field=f"line {EPW_HEADER_LINES + i + 1}, {name}", value=v
                ) from None
        raise


def _read_csv(path: str | Path, columns: tuple[str, ...], optional: tuple[str, ...] = (),
              site_tz: str | None = None) -> pd.DataFrame:
    """Read a timestamped CSV with the given numeric columns; InputError on any bad cell (line numbers 1-based)."""
    from io import StringIO

    from dctwin.safeio import csv_text, read_input

    file = str(path)  # strict UTF-8 and commas: a cell that cannot be read exactly is refused, not replaced
    text = csv_text(read_input(path, _MAX_BYTES, what="series file").data, file)

    try:
        df = pd.read_csv(StringIO(text), dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"malformed CSV: {str(exc).splitlines()[0]}", file=file) from None
    header = [c.strip() for c in next(csv.reader(StringIO(text)), [])]
    twice = [c for c in dict.fromkeys(header) if header.count(c) > 1]
    if twice:  # pandas renames the second 'dry_bulb_c' to 'dry_bulb_c.1' and the first is used silently
        raise InputError("column given twice in the header", file=file, field=twice[0][:60],
                         allowed="each column once")
    df.columns = [c.strip() for c in df.columns]
    need = ("timestamp",) + columns
    missing = [c for c in need if c not in df.columns]
    if missing:  # the header is shown only when it looks like column names, never a line of some other file
        plain = len(df.columns) <= 20 and all(_COLUMN_NAME.fullmatch(str(c)) for c in df.columns)
        raise InputError("missing column", file=file, field=missing[0], value=list(df.columns) if plain else None,
                         allowed=", ".join(need + optional))
    extra = [c for c in df.columns if c not in need + optional]
    if extra:  # a misspelt optional column (dh_supply_temp) must not be silently dropped
        raise InputError("unknown column", file=file, field=str(extra[0])[:60], allowed=", ".join(need + optional))
    if len(df) < 2:
        raise InputError("needs at least two rows", file=file, value=len(df))
    out = pd.DataFrame()
    ts = _local_standard_times(df["timestamp"], file, site_tz)
    d = np.diff(ts.to_numpy().astype("datetime64[s]").astype(np.int64))
    _refuse_daylight_saving(df["timestamp"], ts, d, file, site_tz)
    if (d <= 0).any():
        i = int(np.flatnonzero(d <= 0)[0]) + 1
        raise InputError(
            "timestamps must increase strictly",
            file=file,
            field=f"line {i + 2}, timestamp",
            value=df["timestamp"].iloc[i],
        )
    _refuse_gaps(d, df["timestamp"], file)
    out["timestamp"] = ts.to_numpy()
    for c in columns + tuple(o for o in optional if o in df.columns):
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            i = int(bad[0])
            raise InputError("not a number", file=file, field=f"line {i + 2}, {c}", value=df[c].iloc[i])
        out[c] = v
    return out


def _local_standard_times(stamps: pd.Series, file: str, site_tz: str | None) -> pd.Series:
    """Timestamps in the site's local standard time (naive): ones with a UTC offset are converted exactly
    (this needs ``site_tz``), naive ones are local standard time already (``dctwin.timeparse`` rules)."""
    zoned = bool(stamps.astype(str).str.strip().str.contains(UTC_OFFSET).any())
    if zoned and site_tz is None:
        raise InputError("timestamps carry a UTC offset, but the site's time zone is not known here", file=file,
                         field="line 2, timestamp", value=str(stamps.iloc[0])[:40],
                         allowed="local standard time without an offset, or read through a scenario's site")
    offset_s = standard_offset_s(site_tz) if zoned else 0
    utc = parse_timestamps(stamps, file=file, where=lambda i: f"line {i + 2}, timestamp", naive=offset_s)
    return pd.Series(utc.tz_convert(None) + pd.Timedelta(seconds=offset_s))


def _refuse_daylight_saving(stamps: pd.Series, ts: pd.Series, steps_s: np.ndarray, file: str,
                            site_tz: str | None) -> None:
    """Naive timestamps on the site's daylight-saving clock, where that can be told exactly: a step back onto a
    local time the site's clocks repeat in autumn, or rows missing exactly the local times its clocks skip in
    spring (a 25- or 23-hour day). Elsewhere a summer-time file cannot be told from a standard-time one."""
    if site_tz is None or stamps.astype(str).str.strip().str.contains(UTC_OFFSET).any() or steps_s.size == 0:
        return
    local = pd.DatetimeIndex(ts)
    repeated = pd.isna(local.tz_localize(site_tz, ambiguous="NaT", nonexistent="shift_forward"))
    typical_s = float(np.median(steps_s))
    back = np.flatnonzero((steps_s <= 0) & repeated[1:])
    skip = [i for i in np.flatnonzero(steps_s > typical_s) if _skips_only_missing_times(local, i, typical_s, site_tz)]
    hits = [(int(i), "repeats a local time the site's clocks repeat") for i in back]
    hits += [(int(i), "skips exactly the local times the site's clocks skip") for i in skip]
    if hits:
        i, what = min(hits)
        raise InputError(f"timestamps read as daylight-saving (summer) time: the file {what} when daylight saving "
                         f"starts or ends in {site_tz}", file=file, field=f"line {i + 3}, timestamp",
                         value=str(stamps.iloc[i + 1])[:40],
                         allowed="local standard time all year (no daylight-saving shift; a standard-time file "
                                 "missing just these rows: add them), or timestamps with a UTC offset")


def _skips_only_missing_times(local: pd.DatetimeIndex, i: int, typical_s: float, site_tz: str) -> bool:
    """Step ``i`` (rows i, i+1) is a whole number of typical steps and every row it leaves out is a local time that
    does not exist in ``site_tz`` (the spring-forward hour), while both rows it joins do."""
    n = (local[i + 1] - local[i]).total_seconds() / typical_s if typical_s > 0 else 0.0
    if n != round(n) or not 1 < n <= 1e4:
        return False
    inner = local[i] + pd.to_timedelta(np.arange(1, int(n)) * typical_s, unit="s")
    ends = pd.DatetimeIndex([local[i], local[i + 1]])
    return bool(pd.isna(inner.tz_localize(site_tz, nonexistent="NaT", ambiguous="NaT")).all()
                and not pd.isna(ends.tz_localize(site_tz, nonexistent="NaT", ambiguous="NaT")).any())


def _refuse_gaps(steps_s: np.ndarray, stamps: pd.Series, file: str) -> None:
    """A step longer than 3x the file's median step (and over 3 h) is a gap: refused, never interpolated."""
    if steps_s.size == 0:
        return
    limit_s = max(3.0 * float(np.median(steps_s)), MAX_GAP_FLOOR_S)
    long = np.flatnonzero(steps_s > limit_s)
    if long.size:
        i = int(long[0]) + 1
        raise InputError(f"gap of {steps_s[i - 1] / 3600:g} h in the timestamps", file=file,
                         field=f"line {i + 2}, timestamp", value=stamps.iloc[i],
                         allowed=f"steps of at most {limit_s / 3600:g} h (3x the file's typical step, at least 3 h)")


def _refuse_outside(values: np.ndarray, lo: float, hi: float, file: str, where) -> None:
    """InputError naming the first value outside ``lo..hi``; ``where(i)`` names row ``i`` (0-based)."""
    bad = np.flatnonzero((values < lo) | (values > hi))
    if bad.size:
        i = int(bad[0])
        raise InputError("value out of range", file=file, field=where(i), value=values[i].item(),
                         allowed=f"{lo} to {hi}")


def _check_range(df: pd.DataFrame, col: str, lo: float, hi: float, file: str) -> None:
    _refuse_outside(df[col].to_numpy(), lo, hi, file, lambda i: f"line {i + 2}, {col}")


def refuse_rh_fraction(rh_pct: np.ndarray, file: str, field: str, fix: str) -> None:
    """InputError when every relative humidity [%] is at most 1 %: such a series reads as fractions (0-1).

    Outdoor air never stays that dry over a whole series, so the unit cannot be
    told from the numbers; it is refused, never rescaled by guess.
    """
    v = np.asarray(rh_pct, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size and float(v.max()) <= 1.0:
        raise InputError("every relative humidity value is between 0 and 1: this reads as a fraction, not percent "
                         "(outdoor air is never under 1 % throughout), so the unit is ambiguous and not guessed",
                         file=file, field=field, value=f"largest {float(v.max()):g}", allowed=fix)


def read_weather_csv(path: str | Path, site_tz: str | None = None) -> pd.DataFrame:
    """Weather CSV with columns ``timestamp, dry_bulb_c`` [°C]``, rel_humidity_pct`` [%] (local standard time; a file
    on the daylight-saving clock is refused where a 23- or 25-hour day shows it, given ``site_tz``)."""
    df = _read_csv(path, ("dry_bulb_c", "rel_humidity_pct"), site_tz=site_tz)
    _check_range(df, "dry_bulb_c", -70.0, 70.0, str(path))
    _check_range(df, "rel_humidity_pct", 0.0, 100.0, str(path))
    refuse_rh_fraction(df["rel_humidity_pct"].to_numpy(), str(path), "rel_humidity_pct",
                       "percent, 0 to 100 (multiply fractions by 100)")
    return df


def read_grid_csv(path: str | Path, site_tz: str | None = None) -> pd.DataFrame:
    """Grid CSV with columns ``timestamp, price_eur_per_mwh`` [EUR/MWh]``, carbon_g_per_kwh`` [gCO2/kWh]."""
    df = _read_csv(path, ("price_eur_per_mwh", "carbon_g_per_kwh"), site_tz=site_tz)
    _check_range(df, "price_eur_per_mwh", -5000.0, 20000.0, str(path))
    _check_range(df, "carbon_g_per_kwh", 0.0, 2000.0, str(path))
    return df


def read_plain_carbon_csv(path: str | Path, site_tz: str | None = None) -> pd.DataFrame:
    """Carbon CSV with columns ``timestamp, carbon_g_per_kwh`` [gCO2/kWh] (local standard time)."""
    df = _read_csv(path, ("carbon_g_per_kwh",), site_tz=site_tz)
    _check_range(df, "carbon_g_per_kwh", 0.0, 2000.0, str(path))
    return df


def read_heat_demand_csv(path: str | Path, site_tz: str | None = None) -> pd.DataFrame:
    """Heat CSV with columns ``timestamp, heat_demand_mw`` [MW] and optionally ``dh_supply_temp_c`` [°C]."""
    df = _read_csv(path, ("heat_demand_mw",), optional=("dh_supply_temp_c",), site_tz=site_tz)
    _check_range(df, "heat_demand_mw", 0.0, 1.0e5, str(path))
    if "dh_supply_temp_c" in df:
        _check_range(df, "dh_supply_temp_c", 20.0, 200.0, str(path))
    return df
