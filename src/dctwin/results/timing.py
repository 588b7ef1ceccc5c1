"""A run's wall-clock record, ``timing.json``: when it started and finished and how long it took.

These are the only values of a run directory that differ between two runs of the same scenario and seed, so they
are kept out of ``manifest.json`` (whose file hashes and seal are then reproducible) and out of ``report.html``.
``timing.json`` is written after the manifest, is not listed in it and is not verified on read: it is not
reproducible by design. Every other file of a run directory is byte-identical for the same scenario, seed,
dctwin version, machine and run-folder name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["TIMING", "TIMING_KEYS", "read_timing", "timing_text", "utc_text"]

TIMING = "timing.json"
TIMING_KEYS = ("started_utc", "finished_utc", "wall_time_s")
MAX_TIMING_BYTES = 64 << 10


def utc_text(epoch_s: float) -> str:
    """A POSIX time [s] as ISO 8601 UTC to the second."""
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).isoformat(timespec="seconds")


def timing_text(timing: Mapping[str, Any]) -> str:
    """The content of ``timing.json``: the known keys of ``timing`` and a note that they are not reproducible."""
    doc = {k: timing[k] for k in TIMING_KEYS if k in timing}
    doc["note"] = "wall-clock times of this run: not reproducible, not covered by manifest.json's hashes"
    return json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _wanted(doc: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in TIMING_KEYS:
        value = doc.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number or isinstance(value, str) and len(value) <= 40:
            out[key] = value
    return out


def read_timing(path: str | Path, manifest: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The times of the run at ``path`` from its ``timing.json`` (a regular file of at most 64 KiB), else from
    ``manifest`` (runs written before timing.json kept them there); ``{}`` when neither has them."""
    p = Path(path) / TIMING
    try:
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_TIMING_BYTES:
            doc = json.loads(p.read_text(encoding="utf-8"))
            if isinstance(doc, dict):
                return _wanted(doc)
    except (OSError, ValueError, RecursionError):
        pass
    return _wanted(manifest or {})
