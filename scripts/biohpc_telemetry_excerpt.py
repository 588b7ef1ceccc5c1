"""Rebuild the shipped Cornell BioHPC GPU telemetry excerpt from the files it was cut from.

Input: the ``datasets/cbsugpu*_usage_stats.txt`` exports of the public repository
charlottegressel/dc_workload_pipeline (MIT licence; see
src/dctwin/telemetry/data/cornell-biohpc/README.md). Each export is tab-separated,
one row per server-hour (newest first), starts with a byte-order mark and ends with SQL Server's
``(N rows affected)`` and ``Completion time: ...`` lines. The excerpt keeps the three single-GPU servers and the
eight weeks 2025-06-09 .. 2025-08-03 (local time, no daylight-saving change inside),
and writes it in the long layout dctwin's telemetry readers take: one row per
(hour, metric, host) with the value exactly as exported. Nothing is resampled,
filled or rounded; rows keep the export's order (newest first).

    python scripts/biohpc_telemetry_excerpt.py PATH/TO/datasets
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HOSTS = ("cbsugpu07", "cbsugpu09", "cbsugpu10")   # one GPU each (the repository's server table)
METRICS = ("powerave", "utilave")                  # mean GPU board power [W], mean GPU utilisation [%]
FIRST, LAST = "2025-06-09 00:00", "2025-08-03 23:00"  # inclusive, local wall-clock hours
OUT = (Path(__file__).resolve().parent.parent / "src/dctwin/telemetry/data/cornell-biohpc"
       / "gpu_telemetry_2025-06-09_2025-08-03.csv")


def export_rows(path: Path) -> list[dict[str, str]]:
    """The data rows of one export (byte-order mark, blank lines and the closing status lines dropped)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    body = [line for line in lines if line.strip() and not line.startswith(("Completion time:", "("))]
    return list(csv.DictReader(body, delimiter="\t"))


def long_rows(rows: list[dict[str, str]]) -> list[tuple[str, str, str, str]]:
    """(timestamp, metric, value, host) of every row inside the window, values as written."""
    out = []
    for row in rows:
        stamp = row["timestamp"].removesuffix(".000")
        if FIRST <= stamp[:16] <= LAST:
            out.extend((stamp, metric, row[metric], row["name"]) for metric in METRICS)
    return out


def main(source: str) -> None:
    table = []
    for host in HOSTS:
        table.extend(long_rows(export_rows(Path(source) / f"{host}_usage_stats.txt")))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("timestamp", "metric", "value", "host"))
        writer.writerows(table)
    print(f"wrote {len(table)} rows to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
