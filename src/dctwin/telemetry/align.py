"""Raw telemetry series onto one time grid, with every repair reported.

Per mapped quantity: select the series (name and label matchers), shift by the
series' clock offset, sort, drop exact duplicate samples (refuse conflicting ones),
turn counters into average power (a counter that falls has restarted from zero),
convert to the canonical unit, refuse values outside the physical range, average
onto the step grid, combine the series (sum or mean), and interpolate gaps up to
``max_gap_s``. Longer gaps stay missing and are excluded from every comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.site.readers import refuse_rh_fraction
from dctwin.telemetry.mapping import SeriesMap, TelemetryMap
from dctwin.telemetry.quantities import CANONICAL_UNIT, QUANTITIES, to_canonical
from dctwin.telemetry.readers import RawSeries

__all__ = ["Telemetry", "align"]


@dataclass(frozen=True)
class Telemetry:
    """Measured series on one grid: ``frame`` has a UTC ``time`` column and one column per quantity."""

    frame: pd.DataFrame
    step_s: int
    quality: pd.DataFrame  # one row per repair or problem: quantity, series, issue, count, detail
    sources: tuple[dict, ...]  # {file, sha256, bytes}


def _matches(raw: RawSeries, spec: SeriesMap) -> bool:
    if spec.source.startswith("~"):
        if re.fullmatch(spec.source[1:], raw.name) is None:
            return False
    elif raw.name != spec.source:
        return False
    for key, pattern in spec.labels.items():
        value = raw.labels.get(key)
        if value is None:
            return False
        if pattern.startswith("~"):
            if re.fullmatch(pattern[1:], value) is None:
                return False
        elif value != pattern:
            return False
    return True


def _series_id(raw: RawSeries) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(raw.labels.items()))
    return f"{raw.name}{{{labels}}}" if labels else raw.name


class _Log:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, quantity: str, series: str, issue: str, count: int, detail: str) -> None:
        if count:
            self.rows.append({"quantity": quantity, "series": series, "issue": issue, "count": int(count),
                              "detail": detail})


def _clean_samples(raw: RawSeries, qname: str, log: _Log) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted samples without duplicates; conflicting duplicates refused with their rows."""
    sid = _series_id(raw)
    t, v, rows = raw.t_s, raw.values, raw.rows
    if len(t) < 2 or bool(np.all(t[1:] > t[:-1])):  # the common case: already sorted, no repeats
        ok = ~np.isnan(v)
        return t[ok], v[ok], rows[ok]
    order = np.argsort(t, kind="stable")
    log.add(qname, sid, "out_of_order", int(np.sum(np.diff(t) < 0)), "samples sorted by time")
    t, v, rows = t[order], v[order], rows[order]
    same = np.flatnonzero(np.diff(t) == 0)
    if same.size:
        a, b = v[same], v[same + 1]
        clash = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if clash.any():
            i = int(same[np.flatnonzero(clash)[0]])
            raise InputError("two different values at the same timestamp", file=raw.file,
                             field=f"{sid}, rows {rows[i]} and {rows[i + 1]}", value=f"{v[i]:g} vs {v[i + 1]:g}",
                             allowed="one value per series and timestamp")
        keep = np.ones(len(t), dtype=bool)
        keep[same + 1] = False
        log.add(qname, sid, "duplicate", int(same.size), "identical repeated samples dropped")
        t, v, rows = t[keep], v[keep], rows[keep]
    ok = ~np.isnan(v)
    return t[ok], v[ok], rows[ok]


def _check_range(vals: np.ndarray, rows: np.ndarray, qname: str, raw: RawSeries) -> None:
    q = QUANTITIES[qname]
    bad = (vals < q.low) | (vals > q.high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"outside the physical range of {q.label} after unit conversion", file=raw.file,
                         field=f"{_series_id(raw)}, row {rows[i]}", value=float(vals[i]),
                         allowed=f"{q.low:g}..{q.high:g} {CANONICAL_UNIT[q.kind]}")


def _gauge_on_grid(t, v, edges_s) -> np.ndarray:
    """Mean of the samples in each step [edge, next edge)."""
    n = len(edges_s) - 1
    k = np.floor((t - edges_s[0]) / (edges_s[1] - edges_s[0])).astype(np.int64)
    inside = (k >= 0) & (k < n)
    k_in = k[inside]
    if len(k_in) < 2 or bool(np.all(k_in[1:] > k_in[:-1])):  # at most one sample per step: place it
        out = np.full(n, np.nan)
        out[k_in] = v[inside]
        return out
    sums = np.bincount(k[inside], weights=v[inside], minlength=n)
    counts = np.bincount(k[inside], minlength=n)
    return np.divide(sums, counts, out=np.full(n, np.nan), where=counts > 0)


def _counter_on_grid(t, v, edges_s, max_gap_s, qname, sid, log: _Log) -> np.ndarray:
    """Average rate per step [unit/h] of a cumulative counter; a fall is a restart from zero."""
    if len(t) < 2:
        return np.full(len(edges_s) - 1, np.nan)
    inc = np.diff(v)
    resets = inc < 0
    log.add(qname, sid, "counter_reset", int(resets.sum()), "counter fell: taken as restarted from zero")
    inc = np.where(resets, v[1:], inc)
    cum = np.concatenate([[0.0], np.cumsum(inc)])
    at_edges = np.interp(edges_s, t, cum, left=np.nan, right=np.nan)
    step_h = (edges_s[1] - edges_s[0]) / 3600.0
    rate = np.diff(at_edges) / step_h
    # a step that interpolates across a long silence would smear its energy: leave it missing
    gap_after = np.diff(t) > max(max_gap_s, edges_s[1] - edges_s[0])
    if gap_after.any():
        lo, hi = t[:-1][gap_after], t[1:][gap_after]
        mid = 0.5 * (edges_s[:-1] + edges_s[1:])
        inside = np.zeros(len(mid), dtype=bool)
        for a, b in zip(lo, hi, strict=True):
            inside |= (edges_s[1:] > a) & (edges_s[:-1] < b)
        rate[inside] = np.nan
    return rate


def _fill_gaps(x: np.ndarray, max_bins: int, qname: str, log: _Log) -> np.ndarray:
    """Interpolate runs of missing steps no longer than ``max_bins`` that have data on both sides."""
    miss = np.isnan(x)
    if not miss.any():
        return x
    idx = np.arange(len(x))
    starts = np.flatnonzero(miss & ~np.concatenate([[False], miss[:-1]]))
    ends = np.flatnonzero(miss & ~np.concatenate([miss[1:], [False]]))
    out = x.copy()
    good = ~miss
    filled = left = 0
    for a, b in zip(starts, ends, strict=True):
        if b - a + 1 <= max_bins and a > 0 and b < len(x) - 1:
            out[a:b + 1] = np.interp(idx[a:b + 1], idx[good], x[good])
            filled += b - a + 1
        else:
            left += b - a + 1
    log.add(qname, "", "gap_filled", filled, f"missing steps interpolated (gaps up to {max_bins} steps)")
    log.add(qname, "", "gap_missing", left, "missing steps left out of every comparison")
    return out


def _quantity_on_grid(qname, spec: SeriesMap, raws, edges_s, tmap: TelemetryMap, log: _Log) -> np.ndarray:
    per_series = []
    for raw in raws:
        sid = _series_id(raw)
        t, v, rows = _clean_samples(raw, qname, log)
        t = t + spec.clock_offset_s
        log.add(qname, sid, "clock_offset", len(t) if spec.clock_offset_s else 0, f"shifted {spec.clock_offset_s:+g} s")
        v = to_canonical(v, QUANTITIES[qname], spec.unit, spec.counter, where=f"series.{qname}.unit") * spec.scale
        if spec.counter:
            grid = _counter_on_grid(t, v, edges_s, tmap.max_gap_s, qname, sid, log)
            _check_range(grid[~np.isnan(grid)], np.zeros(int((~np.isnan(grid)).sum()), int), qname, raw)
        else:
            _check_range(v, rows, qname, raw)
            if qname == "rel_humidity_pct":
                refuse_rh_fraction(v, raw.file, sid, f"percent, 0 to 100, with unit '%' (got unit {spec.unit!r}); "
                                   "a series of fractions takes unit 'fraction'")
            off = np.count_nonzero(np.mod(t - edges_s[0], tmap.step_s) != 0)
            log.add(qname, sid, "off_grid", off, f"samples between grid points averaged into {tmap.step_s}-s steps")
            grid = _gauge_on_grid(t, v, edges_s)
        per_series.append(grid)
    stack = np.vstack(per_series)
    with np.errstate(invalid="ignore"):
        combined = stack.sum(axis=0) if spec.aggregate == "sum" else stack.mean(axis=0)
    combined[np.isnan(stack).any(axis=0)] = np.nan  # a sum with a missing member is missing, not smaller
    return _fill_gaps(combined, tmap.max_gap_s // tmap.step_s, qname, log)


def align(raws: list[RawSeries], tmap: TelemetryMap, sources: tuple[dict, ...] = ()) -> Telemetry:
    """The mapped quantities on the mapping's grid, spanning the measured IT power."""
    log = _Log()
    chosen = {}
    for qname, spec in tmap.series.items():
        found = [r for r in raws if _matches(r, spec)]
        if not found:
            names = sorted({r.name for r in raws})
            raise InputError("no series in the telemetry matches", field=f"series.{qname}.source", value=spec.source,
                             allowed=", ".join(names[:20]) + (" ..." if len(names) > 20 else ""))
        chosen[qname] = found
    it_t = np.concatenate([r.t_s + tmap.series["it_power_kw"].clock_offset_s for r in chosen["it_power_kw"]])
    step = tmap.step_s
    first, last = np.floor(it_t.min() / step) * step, np.floor(it_t.max() / step) * step
    if (last - first) / step + 1 > 40_000_000:  # checked before the grid is allocated (1970-2100 at 1 s: 33 GB)
        raise InputError("telemetry spans too many steps", field="step_s", value=step,
                         allowed=f"at most 40,000,000 steps (this span: {(last - first) / step + 1:,.0f})")
    edges_s = np.arange(first, last + 2 * step, step, dtype=np.float64)
    cols = {"time": pd.to_datetime(edges_s[:-1].astype(np.int64), unit="s", utc=True)}
    for qname, spec in tmap.series.items():
        cols[qname] = _quantity_on_grid(qname, spec, chosen[qname], edges_s, tmap, log)
    if not np.isfinite(np.asarray(cols["it_power_kw"], dtype=float)).any():  # a replay of nothing exited 0
        raise InputError("the IT power series has no value (every sample missing or NaN, Prometheus' stale marker)",
                         file=chosen["it_power_kw"][0].file, field="series.it_power_kw",
                         allowed="measured IT power at one step or more: it drives the replay")
    quality = pd.DataFrame(log.rows, columns=["quantity", "series", "issue", "count", "detail"])
    return Telemetry(pd.DataFrame(cols), step, quality, tuple(sources))
