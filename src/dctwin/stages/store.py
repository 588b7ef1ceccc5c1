"""One cache entry on disk: a folder of parts (Arrow tables, ``.npy`` arrays, tagged JSON) and ``entry.json``.

Nothing read back is trusted: ``entry.json`` must name the expected key, every part's size and SHA-256 must
match, arrays load with ``allow_pickle=False`` and JSON values carry explicit type tags, so a damaged,
truncated or foreign entry is refused (``BadEntry``) and the caller recomputes it. No pickle anywhere:
a cache folder from someone else can never run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dctwin.safeio import open_regular

__all__ = ["BadEntry", "FORMAT", "StoredPart", "discard", "read_entry", "write_entry"]

FORMAT = 1
ENTRY = "entry.json"


class BadEntry(Exception):
    """A cache entry that cannot be trusted; the caller rebuilds it."""


def _tag(v: Any) -> Any:
    """JSON-safe copy of ``v`` that keeps numpy scalar and array types (restored by ``_untag``)."""
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise TypeError("cache JSON parts need string keys")
        return {"d": {k: _tag(x) for k, x in v.items()}}
    if isinstance(v, (list, tuple)):
        return {"l" if isinstance(v, list) else "t": [_tag(x) for x in v]}
    if isinstance(v, np.generic):
        return {"np": v.dtype.str, "v": v.item()}
    if isinstance(v, np.ndarray):
        return {"nd": v.dtype.str, "shape": list(v.shape), "v": v.ravel().tolist()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return {"p": v}
    raise TypeError(f"cannot cache a value of type {type(v).__name__}")


def _untag(t: dict) -> Any:
    if "d" in t:
        return {k: _untag(x) for k, x in t["d"].items()}
    if "l" in t:
        return [_untag(x) for x in t["l"]]
    if "t" in t:
        return tuple(_untag(x) for x in t["t"])
    if "np" in t:
        return np.dtype(t["np"]).type(t["v"])
    if "nd" in t:
        return np.asarray(t["v"], dtype=np.dtype(t["nd"])).reshape(t["shape"])
    return t["p"]


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=True)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _read_frame(data: bytes) -> pd.DataFrame:
    import pyarrow as pa

    return pa.ipc.open_file(pa.py_buffer(data)).read_all().to_pandas()


def _encode(value: Any) -> tuple[str, bytes]:
    if isinstance(value, pd.DataFrame):
        return "frame", _frame_bytes(value)
    if isinstance(value, np.ndarray) and value.dtype != object:
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return "array", buf.getvalue()
    return "json", json.dumps(_tag(value), allow_nan=True).encode()


def _decode(kind: str, data: bytes) -> Any:
    if kind == "frame":
        return _read_frame(data)
    if kind == "array":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if kind == "json":
        return _untag(json.loads(data))
    raise BadEntry(f"unknown part kind {kind!r}")


def _read(path: Path) -> bytes:
    """The bytes of a regular file (not a symlink, FIFO or device, which could point outside or block)."""
    with open_regular(path, follow=False) as f:
        return f.read()


def discard(folder: Path) -> None:
    """Remove an entry, whatever took its place (a folder, a file, a symlink); nothing if it cannot be removed."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)
    except OSError:
        pass


def write_entry(folder: Path, key: str, stage: str, parts: dict[str, Any]) -> None:
    """Write ``parts`` under ``folder`` atomically (built beside it, renamed into place); a cache that cannot
    hold it (its stage folder a file, no space, read-only) keeps nothing and the run goes on."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    except OSError:
        return
    try:
        listing = []
        for i, (name, value) in enumerate(parts.items()):
            kind, data = _encode(value)
            file = f"part{i}.{kind}"
            (tmp / file).write_bytes(data)
            listing.append({"name": name, "kind": kind, "file": file, "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()})
        entry = {"format": FORMAT, "key": key, "stage": stage, "parts": listing}
        (tmp / ENTRY).write_text(json.dumps(entry, indent=1), encoding="utf-8")
        os.replace(tmp, folder)  # an existing entry (a concurrent writer) stays; ours is dropped below
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class StoredPart:
    """A part of an entry not read yet: ``load()`` reads, checks (size and SHA-256) and decodes it, or raises
    ``BadEntry``."""

    def __init__(self, path: Path, listing: dict) -> None:
        self.path, self._listing = path, listing

    def load(self) -> Any:
        p = self._listing
        try:
            data = _read(self.path)
            if len(data) != p["size"] or hashlib.sha256(data).hexdigest() != p["sha256"]:
                raise BadEntry(f"part {p['name']!r} is damaged or truncated")
            return _decode(p["kind"], data)
        except BadEntry:
            raise
        except Exception as exc:  # noqa: BLE001 - any unreadable part is rebuilt, never trusted
            raise BadEntry(f"unreadable part: {exc}") from None


def read_entry(folder: Path, key: str, stage: str, deferred: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The parts stored under ``folder`` for ``key``, or ``BadEntry`` when anything does not check out.

    Parts named in ``deferred`` come back as ``StoredPart`` (their size checked now, their bytes when loaded).
    """
    try:
        entry = json.loads(_read(folder / ENTRY).decode("utf-8"))
        if entry.get("format") != FORMAT or entry.get("key") != key or entry.get("stage") != stage:
            raise BadEntry("entry belongs to another key, stage or format")
        parts = {}
        for p in entry["parts"]:
            if not isinstance(p["file"], str) or "/" in p["file"] or p["file"].startswith("."):
                raise BadEntry("part file name outside the entry")
            stored = StoredPart(folder / p["file"], p)
            if p["name"] in deferred:
                if os.lstat(stored.path).st_size != p["size"]:
                    raise BadEntry(f"part {p['name']!r} is truncated")
                parts[p["name"]] = stored
            else:
                parts[p["name"]] = stored.load()
        return parts
    except BadEntry:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is rebuilt, never trusted
        raise BadEntry(f"unreadable entry: {exc}") from None
