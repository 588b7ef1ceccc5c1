"""The stage cache: each stage's result stored under a hash of exactly what it reads.

A stage's key hashes its name, the dctwin code and data files (a fingerprint of the installed package, so
an edited model never serves an old answer), the scenario sections it reads, the content of every file
those sections name (``path`` / ``*_path``), and the keys or content digests of its inputs. The cache is
a plain folder anyone may delete; a damaged, truncated or foreign entry is ignored and rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from dctwin.errors import InputError
from dctwin.safeio import MAX_JOB_FILE_BYTES, file_sha256, open_regular, read_input
from dctwin.stages.lazy import Lazy
from dctwin.stages.store import ENTRY as ENTRY_FILE
from dctwin.stages.store import BadEntry, StoredPart, discard, read_entry, write_entry

__all__ = ["Codec", "EncodedTables", "Fields", "NoCache", "StageCache", "array_digest", "code_fingerprint",
           "file_digests"]

T = TypeVar("T")


class Codec(Protocol[T]):
    """Splits a stage result into parts (frames, arrays, JSON values) and rebuilds it from them."""

    def to_parts(self, value: T) -> dict[str, Any]: ...

    def from_parts(self, parts: dict[str, Any]) -> T: ...


@dataclasses.dataclass(frozen=True)
class Fields(Generic[T]):
    """The codec of a flat dataclass: one part per field."""

    cls: type[T]

    def to_parts(self, value: T) -> dict[str, Any]:
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(self.cls)}

    def from_parts(self, parts: dict[str, Any]) -> T:
        return self.cls(**parts)


@cache
def code_fingerprint() -> str:
    """Fingerprint of the installed dctwin package: its version and every code and data file's path, size and
    modification time [ns] (any edit, install or checkout changes it; reading every file would cost more
    than a cached re-run)."""
    from dctwin import __version__

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(__version__.encode())
    for p in sorted(root.rglob("*")):
        if p.suffix not in (".pyc", ".pyo") and "__pycache__" not in p.parts and p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def array_digest(a: Any) -> str | None:
    """Content digest of an array (dtype, shape and bytes); None stays None."""
    if a is None:
        return None
    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()


def file_digests(section: Any) -> dict[str, str]:
    """SHA-256 of each file a config section names in a ``path`` or ``*_path`` field (missing: 'missing')."""
    out: dict[str, str] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and (k == "path" or k.endswith("_path")) and isinstance(v, str) and v:
                    try:  # the same bytes the stage's reader parses (dctwin.safeio.read_once)
                        out[f"{where}.{k}"] = read_input(v, MAX_JOB_FILE_BYTES, what=k).sha256
                    except InputError:
                        out[f"{where}.{k}"] = "missing"
                else:
                    walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(section, "")
    return out


def _key(stage: str, inputs: dict[str, Any]) -> str:
    doc = {"stage": stage, "code": code_fingerprint(), "inputs": inputs}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


class NoCache:
    """Runs every stage; remembers nothing. The default of a single ``dctwin run``."""

    enabled = False

    def stage(self, name: str, inputs: Callable[[], dict[str, Any]], compute: Callable[[], T], codec: Codec[T],
              deferred: tuple[str, ...] = ()) -> T:
        return compute()

    def key(self, name: str) -> str:
        return ""


def _check_writable(root: Path) -> None:
    """``--cache`` names a folder this process can write (created if missing): a file, /proc or a read-only
    place is a clear error before the run, not a traceback in its first stage; a folder inside a finished run is
    refused (runs are never modified: dctwin.safeout)."""
    from dctwin.safeout import check_outside_runs

    check_outside_runs(root, "--cache")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot use the stage-cache folder: {exc.strerror}", file=str(root), field="--cache",
                         allowed="a writable folder (created if missing)") from None


class StageCache(NoCache):
    """Stage results kept under ``root/<stage>/<key>/``; ``hits`` and ``misses`` name the stages of this run."""

    enabled = True

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        _check_writable(self.root)
        self.keys: dict[str, str] = {}
        self.hits: list[str] = []
        self.misses: list[str] = []

    def key(self, name: str) -> str:
        return self.keys[name]

    def stage(self, name: str, inputs: Callable[[], dict[str, Any]], compute: Callable[[], T], codec: Codec[T],
              deferred: tuple[str, ...] = ()) -> T:
        """``compute()``'s result for these inputs: read back when stored and intact, else computed and stored.

        Parts named in ``deferred`` come back as ``dctwin.stages.lazy.Lazy``, read and checked when first used;
        one found damaged then is rebuilt by running the stage again (it is deterministic), never trusted.
        """
        base = name.split("#")[0]  # "cluster#1": the second pool of stage "cluster"
        key = self.keys[name] = _key(base, inputs())
        folder = self.root / base / key
        if os.path.lexists(folder):
            try:
                parts = read_entry(folder, key, base, frozenset(deferred))
                value = codec.from_parts(self._defer(name, parts, lambda: self._rebuild(name, key, compute, codec)))
                self.hits.append(name)
                return value
            except Exception:  # noqa: BLE001 - damaged, truncated or foreign: rebuilt, never trusted
                discard(folder)
        value = compute()
        write_entry(folder, key, base, codec.to_parts(value))
        self.misses.append(name)
        return value

    @staticmethod
    def _defer(name: str, parts: dict[str, Any], rebuild: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``parts`` with each ``StoredPart`` as a ``Lazy`` that falls back on the rebuilt stage's part."""
        rebuilt = Lazy(rebuild)

        def lazy(part_name: str, stored: StoredPart) -> Lazy:
            def load() -> Any:
                try:
                    return stored.load()
                except BadEntry:
                    return rebuilt.get()[part_name]
            return Lazy(load)

        return {n: lazy(n, v) if isinstance(v, StoredPart) else v for n, v in parts.items()}

    def _rebuild(self, name: str, key: str, compute: Callable[[], T], codec: Codec[T]) -> dict[str, Any]:
        """Stage ``name`` run again after a deferred part of its entry was found damaged; the entry is replaced."""
        base = name.split("#")[0]
        folder = self.root / base / key
        discard(folder)
        parts = codec.to_parts(compute())
        write_entry(folder, key, base, parts)
        self.misses.append(name)
        return parts


class EncodedTables:
    """Parquet files of run tables that come unchanged from cached stages (jobs, failures, placements of the
    cluster stages), kept under ``root/tables/<key>/``: a warm re-run copies their bytes instead of encoding
    the frames again. The key hashes the table's name, the keys of the stages it is made of, the dctwin code
    and the pandas and pyarrow versions (the encoders); a file whose size or SHA-256 does not match its
    ``entry.json`` is ignored and replaced."""

    def __init__(self, cache: StageCache, stages: list[str]) -> None:
        import pandas
        import pyarrow

        self.cache, self.ready = cache, bool(stages) and all(s in cache.keys for s in stages)
        self._of = {"stages": [cache.keys.get(s) for s in stages], "code": code_fingerprint(),
                    "pandas": pandas.__version__, "pyarrow": pyarrow.__version__}

    def _folder(self, name: str) -> Path:
        doc = json.dumps({"table": name, **self._of}, sort_keys=True).encode()
        return self.cache.root / "tables" / hashlib.sha256(doc).hexdigest()

    def get(self, name: str) -> Path | None:
        """The kept file of table ``name`` when it checks out, else None."""
        if not self.ready:
            return None
        folder = self._folder(name)
        try:
            with open_regular(folder / ENTRY_FILE, follow=False) as f:  # a FIFO here would block the run
                entry = json.loads(f.read().decode("utf-8"))
            path = folder / f"{name}.parquet"
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_size == entry["size"] and file_sha256(path) == entry["sha256"]:
                return path
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def keep(self, name: str, written: Path) -> None:
        """Keep a copy of ``written`` (the run directory's file of table ``name``); built beside, renamed in."""
        if not self.ready:
            return
        folder = self._folder(name)
        try:  # a tables folder that is a file, or a read-only or full cache: nothing kept, the run goes on
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        except OSError:
            return
        try:
            shutil.copyfile(written, tmp / f"{name}.parquet")
            entry = {"size": (tmp / f"{name}.parquet").stat().st_size, "sha256": file_sha256(tmp / f"{name}.parquet")}
            (tmp / ENTRY_FILE).write_text(json.dumps(entry), encoding="utf-8")
            discard(folder)  # a damaged copy is replaced
            os.replace(tmp, folder)
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
