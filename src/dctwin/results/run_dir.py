"""The run directory: Parquet tables, kpis.json, manifest.json, written atomically.

A run is built in a hidden sibling folder and renamed into place only when
every file is written and ``manifest.json`` (written last) says
``"complete": true``; an interrupted run never leaves a folder that looks
complete, and an existing run is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dctwin.errors import InputError

__all__ = ["write_run_dir", "is_complete_run", "read_manifest", "verify_run_dir", "write_table", "MANIFEST", "KPIS"]

MANIFEST = "manifest.json"
KPIS = "kpis.json"


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write one DataFrame as Parquet, byte-for-byte reproducible for equal input."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _json_dump(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n", encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_complete_run(path: Path) -> bool:
    """True when ``path`` holds a manifest that marks a finished run."""
    try:
        return bool(json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8")).get("complete"))
    except (OSError, ValueError):
        return False


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a complete run, or InputError."""
    path = Path(path)
    if not is_complete_run(path):
        raise InputError("not a complete dctwin run directory (no complete manifest.json)", file=str(path))
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def verify_run_dir(path: Path) -> list[str]:
    """Problems with a run directory: missing manifest, missing files, or files whose SHA-256 changed.

    An empty list means every file the manifest lists is present and intact.
    Files added after the run (the report, figures) are not judged.
    """
    path = Path(path)
    if not is_complete_run(path):
        return [f"{path}: no complete manifest.json"]
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for name, digest in manifest.get("files", {}).items():
        f = path / name
        if not f.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(f) != digest:
            problems.append(f"{name}: content changed since the run")
    return problems


def write_run_dir(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    kpis: Mapping[str, Any],
    manifest: Mapping[str, Any],
    texts: Mapping[str, str] | None = None,
) -> Path:
    """Write a complete run directory at ``out_dir`` atomically and return it.

    ``tables`` become ``<name>.parquet``, ``texts`` plain files; ``kpis.json``
    and finally ``manifest.json`` (with a SHA-256 of every file) close it.
    Refuses an ``out_dir`` that already exists.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise InputError("output directory already exists; dctwin never overwrites a run", file=str(out_dir),
                         allowed="a new directory name")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        for name, frame in tables.items():
            write_table(frame, staging / f"{name}.parquet")
        for name, text in (texts or {}).items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text, encoding="utf-8")
        _json_dump(dict(kpis), staging / KPIS)
        files = {p.relative_to(staging).as_posix(): _sha256(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        _json_dump({**manifest, "files": files, "complete": True}, staging / MANIFEST)
        _fsync_dir(staging)
        os.rename(staging, out_dir)
        _fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
