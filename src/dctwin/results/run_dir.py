"""The run directory: Parquet tables, kpis.json, manifest.json, written atomically, verified on read.

A run is built as ``.dctwin-partial-<name>-<pid>/<name>`` beside its final
place and renamed into place only when every file (the report too, when
asked for) is written and ``manifest.json`` says ``"complete": true``.
Staging folders left by a killed writer are hidden and removed by the next
write into the same parent. An
existing run is never overwritten. Reading a run checks the SHA-256 of every
file its manifest lists and refuses a run whose files changed, are missing,
or are not regular files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dctwin.errors import InputError
from dctwin.safeio import file_sha256

__all__ = ["write_run_dir", "is_complete_run", "read_manifest", "verify_run_dir", "write_table", "read_table",
           "run_files", "manifest_problem", "seal_manifest", "MANIFEST", "KPIS", "STAGING_PREFIX", "MANIFEST_FORMAT"]

MANIFEST = "manifest.json"
KPIS = "kpis.json"
STAGING_PREFIX = ".dctwin-partial-"
MAX_MANIFEST_BYTES = 64 << 20
MANIFEST_FORMAT = 2  # 2: the manifest's own fields sealed by manifest_sha256
SEAL = "manifest_sha256"
_verified: dict[str, tuple] = {}     # run folder -> stat signature of the files last verified intact
_verified_lock = threading.Lock()
_verifying: dict[str, threading.Lock] = {}
_kept: dict[str, tuple[tuple, pa.Table]] = {}  # table file of a run being finished -> (its stat key, what was written)


def write_table(frame: pd.DataFrame, path: Path) -> pa.Table:
    """Write one DataFrame as Parquet, byte-for-byte reproducible for equal input; return the Arrow table written.

    Dictionary encoding only for columns that are not floating point: a float series rarely repeats, so its
    dictionary page overflows and is thrown away (half the writing time of a 1-s day, and a larger file)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, path, compression="zstd", write_statistics=True, use_dictionary=dictionary)
    return table


def _stat_key(path: Path) -> tuple:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def read_table(path: Path) -> pd.DataFrame:
    """One table of a run, as ``pd.read_parquet`` gives it.

    A table this process wrote into a run it is still finishing (``write_run_dir``'s ``finish``: the report of
    ``dctwin run``) comes from memory while its file is unchanged (same inode, size and times): the Arrow table
    written, cast to the file's own schema (Parquet keeps seconds as milliseconds), converted as pandas converts
    what it reads. Decoding the year's tables again cost ~0.2 s CPU of the report."""
    path = Path(path)
    kept = _kept.get(str(path.resolve()))
    if kept is not None and kept[0] == _stat_key(path):
        schema = pq.read_schema(path)
        frame = pd.DataFrame.from_arrow(kept[1].cast(schema))
        if schema.metadata and b"PANDAS_ATTRS" in schema.metadata:
            frame.attrs = json.loads(schema.metadata[b"PANDAS_ATTRS"])
        return frame
    return pd.read_parquet(path)



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


def _load_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest mapping of ``path`` if it is a regular file that parses, else None."""
    m = path / MANIFEST
    try:
        st = os.lstat(m)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_MANIFEST_BYTES:
            return None
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _seal(fields: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's fields other than the seal, as canonical JSON (sorted keys, no spaces)."""
    body = {k: v for k, v in fields.items() if k != SEAL}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def seal_manifest(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` as JSON reads them back (non-JSON values as text), with the format and the seal added."""
    doc = json.loads(json.dumps({**fields, "manifest_format": MANIFEST_FORMAT}, allow_nan=False, default=str))
    return {**doc, SEAL: _seal(doc)}


def manifest_problem(manifest: Mapping[str, Any]) -> str | None:
    """Why the manifest's own fields cannot be trusted (no seal, or a field changed), or None."""
    seal = manifest.get(SEAL)
    fmt = manifest.get("manifest_format")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > MANIFEST_FORMAT:
        return (f"{MANIFEST}: written by a newer dctwin ({str(manifest.get('dctwin_version'))[:40]!r}, manifest "
                f"format {fmt}); this dctwin reads format {MANIFEST_FORMAT} and older sealed runs")
    if not isinstance(seal, str):
        return (f"{MANIFEST}: no seal of its own fields (written before manifest format {MANIFEST_FORMAT}), so "
                "its scenario, seed and times cannot be checked")
    try:
        same = _seal(manifest) == seal
    except ValueError:  # NaN or infinity planted in a field
        same = False
    return None if same else f"{MANIFEST}: its fields (scenario, seed, times...) changed since the run"


def is_complete_run(path: Path) -> bool:
    """True when ``path`` holds a manifest that marks a finished run (and is not a writer's staging folder)."""
    path = Path(path)
    if path.name.startswith(STAGING_PREFIX):
        return False
    manifest = _load_manifest(path)
    return bool(manifest and manifest.get("complete") is True and isinstance(manifest.get("files"), dict))


def run_files(manifest: Mapping[str, Any]) -> list[str]:
    """The data files a manifest lists (relative names), in order."""
    return sorted(str(n) for n in manifest.get("files", {}))


def read_manifest(path: Path, verify: bool = True) -> dict[str, Any]:
    """The manifest of a complete, intact run, or InputError saying what is wrong.

    With ``verify`` every file the manifest lists is checked against its SHA-256.
    """
    path = Path(path)
    if not is_complete_run(path):
        raise InputError("not a complete dctwin run directory (no complete manifest.json)", file=str(path))
    manifest = _load_manifest(path) or {}
    if verify:
        problems = verify_run_dir(path)
        if problems:
            raise InputError("the run was changed after it finished and is refused: " + "; ".join(problems[:5]),
                             file=str(path), allowed="an untouched run directory (rerun the scenario)")
    return manifest


def _signature(path: Path, names: list[str]) -> tuple:
    sig = []
    for name in [MANIFEST, *names]:
        try:
            st = os.lstat(path / name)
        except OSError:
            return ()
        sig.append((name, st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(sig)


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def refuse_replay(path: Path, manifest: Mapping[str, Any]) -> None:
    """A telemetry replay has no simulation tables: say so instead of failing on a missing one."""
    if manifest.get("kind") == "replay":
        raise InputError("is a telemetry replay (`dctwin replay`), not a simulation run", file=str(path),
                         allowed="its own report.html, the dashboard's replay page, or `dctwin query`")


def verify_run_dir(path: Path) -> list[str]:
    """Problems with a run directory: no manifest, or listed files missing, not regular files, or changed.

    An empty list means every file the manifest lists is present and intact.
    Files added after the run (the report, figures) are not judged.
    """
    path = Path(path)
    manifest = _load_manifest(path) if is_complete_run(path) else None
    if manifest is None:
        return [f"{path}: no complete manifest.json"]
    names = run_files(manifest)
    key = str(path.resolve())
    sig = _signature(path, names)
    with _verified_lock:
        if sig and _verified.get(key) == sig:
            return []
        gate = _verifying.setdefault(key, threading.Lock())
    with gate:  # concurrent readers of one run hash it once
        with _verified_lock:
            if sig and _verified.get(key) == sig:
                return []
        return _check_files(path, manifest, names, key, sig)


def _check_files(path: Path, manifest: dict[str, Any], names: list[str], key: str, sig: tuple) -> list[str]:
    seal = manifest_problem(manifest)
    problems = [seal] if seal else []
    for name in names:
        digest = manifest["files"][name]
        if not _safe_name(name):
            problems.append(f"{name[:80]!r}: not a file name inside the run")
            continue
        try:
            st = os.lstat(path / name)
        except OSError:
            problems.append(f"{name}: missing")
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"{name}: not a regular file (a symlink or device)")
        else:
            try:
                same = file_sha256(path / name) == digest
            except OSError:  # swapped for a FIFO or removed after the check above
                same = False
            if not same:
                problems.append(f"{name}: content changed since the run")
    if not problems and sig:
        with _verified_lock:
            _verified[key] = sig
    return problems


def _remember_verified(path: Path, names: list[str]) -> None:
    """The files of a run just written were hashed for its manifest: a reader in this process (the report, run on
    the staged run) does not hash them again while their stat signature is unchanged."""
    sig = _signature(path, names)
    if sig:
        with _verified_lock:
            _verified[str(path.resolve())] = sig


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_staging(parent: Path) -> list[Path]:
    """Remove staging folders in ``parent`` whose writer process is gone (a run's or ``safeout.staged_folder``'s),
    say so on stderr in one line, and return them."""
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.name.startswith(STAGING_PREFIX):
            continue
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    if removed:
        print(f"note: removed {len(removed)} staging folder(s) left by a killed dctwin process in {parent}: "
              + ", ".join(p.name for p in removed), file=sys.stderr, flush=True)
    return removed


def write_run_dir(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame | Path],
    kpis: Mapping[str, Any],
    manifest: Mapping[str, Any],
    texts: Mapping[str, str] | None = None,
    finish: Callable[[Path], Any] | None = None,
    unsealed: Mapping[str, str] | None = None,
) -> Path:
    """Write a complete run directory at ``out_dir`` atomically and return it.

    ``tables`` become ``<name>.parquet`` (a ``Path`` value: a Parquet file ``write_table`` wrote from an equal
    frame, copied as it is), ``texts`` plain files; ``kpis.json``
    and finally ``manifest.json`` (with a SHA-256 of every file) close it.
    ``finish(folder)`` (the report) runs on the staged run before the rename,
    so a run never appears without it. ``unsealed`` files (``timing.json``: wall-clock times, never the same twice)
    are written after the manifest and not listed in it. Refuses an ``out_dir`` that exists.
    """
    from dctwin.safeout import check_new_run_dir

    out_dir = check_new_run_dir(out_dir)  # the one check of `dctwin run -o` too: new, outside every run, writable
    outer = _make_staging(out_dir)
    try:
        _fill(outer / out_dir.name, out_dir, tables, kpis, manifest, texts, finish, unsealed)
    except OSError as exc:  # read-only or full file system, quota: the user's to fix, nothing half-written stays
        raise InputError(f"cannot write the run: {exc.strerror or exc}", file=str(out_dir),
                         allowed="a writable folder with free space") from None
    finally:
        _forget_staging(outer)
        shutil.rmtree(outer, ignore_errors=True)
    return out_dir


WRITERS = 2   # tables encoded at once: Parquet encoding and zstd run outside the GIL, so two cores share the work


def _write_tables(staging: Path, tables: Mapping[str, pd.DataFrame | Path], keep: bool) -> None:
    """Every table into ``staging`` as ``<name>.parquet``, ``WRITERS`` at a time (each file's bytes are what one
    ``write_table`` call gives: the order of writing moves no byte). The first error, in table order, is raised
    once every writer has stopped. ``keep``: the Arrow tables written stay in memory for ``read_table``."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str, frame) -> pa.Table | None:
        if isinstance(frame, Path):  # the bytes write_table gave an equal frame before (kept by the stage cache)
            shutil.copyfile(frame, staging / f"{name}.parquet")
            return None
        return write_table(frame, staging / f"{name}.parquet")

    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="dctwin-write") as pool:
        futures = {name: pool.submit(one, name, frame) for name, frame in tables.items()}
    written = {name: future.result() for name, future in futures.items()}
    for name, table in written.items():
        if keep and isinstance(table, pa.Table):
            path = staging / f"{name}.parquet"
            _kept[str(path.resolve())] = (_stat_key(path), table)


def _forget_staging(folder: Path) -> None:
    """Drop what this process remembers of a staging folder (the tables kept, its verified signature): the run has
    been renamed away or removed, and a long-lived process (the dashboard) must not collect one entry per run."""
    root = str(folder.resolve()) + os.sep
    for key in [k for k in _kept if k.startswith(root)]:
        _kept.pop(key, None)
    with _verified_lock:
        for key in [k for k in _verified if k.startswith(root)]:
            _verified.pop(key, None)


def _fill(staging: Path, out_dir: Path, tables, kpis, manifest, texts, finish, unsealed) -> None:
    """Write every file into ``staging``, the manifest last, run ``finish``, then rename to ``out_dir``."""
    _write_tables(staging, tables, keep=finish is not None)
    for name, text in (texts or {}).items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_text(text, encoding="utf-8")
    _json_dump(dict(kpis), staging / KPIS)
    files = {p.relative_to(staging).as_posix(): file_sha256(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    _json_dump(seal_manifest({**manifest, "files": files, "complete": True}), staging / MANIFEST)
    _remember_verified(staging, sorted(files))
    for name, text in (unsealed or {}).items():
        (staging / name).write_text(text, encoding="utf-8")
    if finish is not None:
        finish(staging)
    _fsync_dir(staging)
    _rename_new(staging, out_dir)
    _fsync_dir(out_dir.parent)


def _make_staging(out_dir: Path) -> Path:
    """Create ``parent/.dctwin-partial-<name>-<pid>/<name>``; clear staging left by killed writers first."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out_dir.parent)
        outer = out_dir.parent / f"{STAGING_PREFIX}{out_dir.name}-{os.getpid()}"
        shutil.rmtree(outer, ignore_errors=True)
        outer.mkdir()
        (outer / out_dir.name).mkdir()
    except OSError as exc:
        raise InputError(f"cannot create the run directory: {exc.strerror}", file=str(out_dir),
                         allowed="a writable folder that is not under a file") from None
    return outer


def _rename_new(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; a ``dst`` another writer filled meanwhile is refused, never replaced."""
    if os.path.lexists(dst) and not (dst.is_dir() and not dst.is_symlink() and not any(dst.iterdir())):
        raise InputError("output directory was created by another run meanwhile; dctwin never overwrites a run",
                         file=str(dst), allowed="a new directory name")
    try:
        os.rename(src, dst)  # a directory onto a non-empty one fails (ENOTEMPTY) rather than replacing it
    except OSError as exc:
        raise InputError(f"output directory was created by another run meanwhile ({exc.strerror}); dctwin never "
                         "overwrites a run", file=str(dst), allowed="a new directory name") from None
