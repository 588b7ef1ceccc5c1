"""One timestamp parser for every input file: site series, telemetry, job and request traces, grid files.

The rules, the same everywhere:

* A timestamp is ISO 8601 text: ``YYYY-MM-DD`` (midnight), or that, ``T`` or a space, ``HH:MM``, optionally
  ``:SS`` and a fraction, optionally a UTC offset ``Z``, ``+hh:mm`` or ``+hhmm``.
* One with an offset is converted to UTC exactly (``2025-01-01T01:00+01:00`` is 00:00 UTC).
* One without an offset follows the reader's documented rule for naive times (``naive``): a fixed offset
  from UTC in seconds (site series: the site's local standard time; traces: UTC), or an IANA time zone
  (telemetry), where a local time that does not exist or occurs twice at a daylight-saving change is refused.
* A year outside 1900-2200, a file that mixes timestamps with and without an offset, a value that is
  not ISO 8601 or not a real date and time, and naive timestamps where the reader has no rule for them
  are refused with the file, the row, the value and what is allowed (``InputError``, exit code 2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from dctwin.errors import InputError

__all__ = ["ALLOWED", "ISO_TIMESTAMP", "UTC_OFFSET", "naive_to_utc", "parse_timestamps", "standard_offset_s"]

ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
UTC_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
MIN_YEAR, MAX_YEAR = 1900, 2200  # inside what a nanosecond clock holds (1677-2262), with room for offsets
ALLOWED = "ISO 8601, e.g. 2027-01-01 00:00, 2027-01-01T00:00:00Z or 2027-01-01T01:00+01:00"


def standard_offset_s(tz_name: str, year: int = 2023) -> int:
    """UTC offset of the zone's standard (winter) time in ``year`` [s]: the clock of dctwin's naive local times."""
    tz = ZoneInfo(tz_name)
    offs = [tz.utcoffset(dt.datetime(year, m, 1)) for m in (1, 7)]
    return int(min(o.total_seconds() for o in offs if o is not None))


def parse_timestamps(values: pd.Series, *, file: str, where: Callable[[int], str], naive: float | str | None,
                     naive_hint: str = "", optional: bool = False) -> pd.DatetimeIndex:
    """``values`` (text) as UTC times (``NaT`` for blank cells when ``optional``), by the module's rules.

    ``where(i)`` names row ``i`` (0-based) for messages, e.g. ``"line 5, timestamp"``. ``naive``: the clock
    of timestamps without an offset: seconds east of UTC, or an IANA zone name; None refuses them, saying
    ``naive_hint`` (how to give one).
    """
    raw = pd.Series(values).reset_index(drop=True)
    text = raw.fillna("").astype(str).str.strip()
    blank = (text == "").to_numpy(dtype=bool)
    ok = text.str.fullmatch(ISO_TIMESTAMP).to_numpy(dtype=bool)
    bad = ~ok & ~(blank & optional)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("not an ISO 8601 date and time" if not blank[i] else "missing timestamp", file=file,
                         field=where(i), value=text.iloc[i][:40], allowed=ALLOWED)
    year = pd.to_numeric(text.str[:4].where(ok, "2000"), errors="coerce").to_numpy()
    far = ok & ((year < MIN_YEAR) | (year > MAX_YEAR))
    if far.any():
        i = int(np.flatnonzero(far)[0])
        raise InputError(f"year outside {MIN_YEAR}-{MAX_YEAR}", file=file, field=where(i), value=text.iloc[i][:40],
                         allowed=ALLOWED)
    zoned = ok & text.str.contains(UTC_OFFSET).to_numpy(dtype=bool)
    if zoned.any() and not zoned[ok].all():
        first = int(np.flatnonzero(ok)[0])
        i = int(np.flatnonzero(ok & (zoned != zoned[first]))[0])  # the first row unlike the first one
        raise InputError("mixes timestamps with and without a UTC offset", file=file, field=where(i),
                         value=text.iloc[i][:40], allowed="the same form (all with an offset, or none) in one file")
    parsed = pd.DatetimeIndex(pd.to_datetime(text.where(ok, None), format="ISO8601", utc=bool(zoned.any()),
                                             errors="coerce")).as_unit("ns")
    unreadable = ok & pd.isna(parsed)
    if unreadable.any():
        i = int(np.flatnonzero(unreadable)[0])
        raise InputError("not a valid date and time", file=file, field=where(i), value=text.iloc[i][:40],
                         allowed=ALLOWED)
    if zoned.any():
        return parsed
    return naive_to_utc(parsed, naive, file, where, naive_hint)


def naive_to_utc(ts: pd.DatetimeIndex, naive: float | str | None, file: str, where: Callable[[int], str],
                 hint: str = "") -> pd.DatetimeIndex:
    """Naive times read on the clock ``naive`` (seconds east of UTC, or an IANA zone), as UTC; see the rules."""
    if naive is None:
        first = int(np.flatnonzero(~pd.isna(ts))[0]) if (~pd.isna(ts)).any() else 0
        raise InputError("timestamps have no UTC offset", file=file, field=where(first),
                         value=str(ts[first]) if len(ts) else None,
                         allowed=hint or "timestamps with a UTC offset, e.g. 2027-01-01T00:00Z")
    if not isinstance(naive, str):
        return (ts - pd.Timedelta(seconds=naive)).tz_localize("UTC")
    try:
        return ts.tz_localize(naive, ambiguous="raise", nonexistent="raise").tz_convert("UTC")
    except (ValueError, TypeError) as exc:  # pytz/zoneinfo errors for DST gaps and overlaps are ValueErrors
        loc = ts.tz_localize(naive, ambiguous="NaT", nonexistent="NaT")
        bad = np.flatnonzero(pd.isna(loc) & ~pd.isna(ts))
        i = int(bad[0]) if bad.size else None
        raise InputError(f"local time does not exist or is ambiguous in {naive} (daylight-saving change)",
                         file=file, field=where(i) if i is not None else "time",
                         value=str(ts[i]) if i is not None else str(exc)[:80],
                         allowed="timestamps with a UTC offset across daylight-saving changes") from None
