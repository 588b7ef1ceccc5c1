"""Follow telemetry as it grows: a file that an exporter appends to, or a Prometheus endpoint on loopback.

Each ``poll`` reads only what is new (complete lines past the last offset of a
file; one scrape of an endpoint, stamped with the scrape time when its samples
carry none), keeps a trailing window, aligns it with the mapping and runs the
calibrated facility model on it, so the dashboard can draw measured against
expected as rows arrive. A file that shrinks or is replaced (log rotation) is
read again from its start.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.config import Scenario
from dctwin.errors import DctwinError, InputError
from dctwin.telemetry.align import align
from dctwin.telemetry.mapping import TelemetryMap
from dctwin.telemetry.readers import RawSeries, parse_csv_text, parse_exposition
from dctwin.telemetry.replay import measured_outputs, model_inputs, predict, replay_table

__all__ = ["LiveFollower"]

MAX_READ_BYTES = 16 << 20  # per poll
SCRAPE_TIMEOUT_S = 2.0


def _check_loopback_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise InputError("only http endpoints on this machine's loopback can be followed", field="follow",
                         value=url, allowed="http://127.0.0.1:PORT/PATH or http://localhost:PORT/PATH")
    return url


class LiveFollower:
    """Measured against expected over a trailing window of a growing telemetry source."""

    def __init__(self, scenario: Scenario, tmap: TelemetryMap, source: str, window_h: float = 48.0) -> None:
        self.scenario, self.tmap, self.window_s = scenario, tmap, window_h * 3600.0
        self.is_url = source.startswith(("http://", "https://"))
        self.source = _check_loopback_url(source) if self.is_url else str(Path(source))
        self._series: dict[tuple, RawSeries] = {}
        self._offset, self._inode, self._header = 0, None, None
        self._lock = threading.Lock()
        self.status = "waiting for data"

    # ------------------------------------------------------------ reading what is new
    def _new_file_series(self) -> list[RawSeries]:
        try:
            st = os.stat(self.source)
        except OSError as exc:
            self.status = f"cannot read {self.source}: {exc.strerror}"
            return []
        if self._inode != st.st_ino or st.st_size < self._offset:  # new or rotated file: start over
            self._inode, self._offset, self._header, self._series = st.st_ino, 0, None, {}
        with open(self.source, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read(MAX_READ_BYTES)
        end = chunk.rfind(b"\n") + 1
        if end == 0:
            return []
        text = chunk[:end].decode("utf-8", errors="strict")
        start_row = self._offset
        self._offset += end
        if text.lstrip().startswith("#") or (self._header is None and "{" in text.split("\n", 1)[0]):
            return parse_exposition(text, self.source)
        if self._header is None:
            self._header, _, text = text.partition("\n")
        if not text.strip():
            return []
        return parse_csv_text(self._header + "\n" + text, self.source, naive_timezone=self.tmap.naive_timezone,
                              epoch_unit=self.tmap.epoch_unit, first_row=2 if start_row == 0 else 1)

    def _scrape(self) -> list[RawSeries]:
        req = urllib.request.Request(self.source, headers={"Accept": "text/plain"})
        try:
            with urllib.request.urlopen(req, timeout=SCRAPE_TIMEOUT_S) as resp:  # noqa: S310 (loopback only)
                body = resp.read(MAX_READ_BYTES + 1)
        except OSError as exc:
            self.status = f"cannot scrape {self.source}: {exc}"
            return []
        if len(body) > MAX_READ_BYTES:
            raise InputError("endpoint answered more than the limit", field="follow", value=len(body))
        return parse_exposition(body.decode("utf-8", errors="strict"), self.source, default_time_s=time.time())

    def _merge(self, new: list[RawSeries]) -> None:
        for raw in new:
            key = (raw.name, tuple(sorted(raw.labels.items())))
            old = self._series.get(key)
            if old is None:
                self._series[key] = raw
                continue
            self._series[key] = RawSeries(raw.name, raw.labels, np.concatenate([old.t_s, raw.t_s]),
                                          np.concatenate([old.values, raw.values]),
                                          np.concatenate([old.rows, raw.rows]), raw.file)
        latest = max((float(r.t_s.max()) for r in self._series.values() if len(r.t_s)), default=None)
        if latest is None:
            return
        for key, r in list(self._series.items()):
            keep = r.t_s >= latest - self.window_s
            self._series[key] = RawSeries(r.name, r.labels, r.t_s[keep], r.values[keep], r.rows[keep], r.file)

    # ------------------------------------------------------------ measured against expected
    def poll(self) -> pd.DataFrame:
        """Rows of the trailing window: time, IT power, and measured/predicted/residual per measured output."""
        with self._lock:
            try:
                self._merge(self._scrape() if self.is_url else self._new_file_series())
                if not self._series:
                    return pd.DataFrame()
                tel = align(list(self._series.values()), self.tmap)
                table = replay_table(tel, inputs := model_inputs(self.scenario, tel), predict(self.scenario, inputs))
            except DctwinError as exc:
                self.status = str(exc)
                return pd.DataFrame()
            self.status = f"following {self.source}: {len(table):,} steps of {self.tmap.step_s} s"
            keep = ["time", "it_power_kw"] + [f"{p}_{q}" for q in measured_outputs(tel)
                                               for p in ("measured", "predicted")]
            return table[keep]
