"""Open a user-named input file safely: once, a regular file only, size checked before reading, with a timeout.

Every reader of a path a user gives (scenario, ``extends``, weather, prices,
heat demand, job traces) goes through ``read_input_bytes``. A FIFO, device,
directory or kernel pseudo-file (``/proc``, ``/sys``, ``/dev``) is refused
before a byte is read, so nothing hangs on ``/proc/kmsg`` and no sparse 2 GB
file is pulled into memory; no error quotes the file's content.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dctwin.errors import InputError

__all__ = ["InputFile", "check_input_file", "csv_text", "file_sha256", "open_regular", "read_input",
           "read_input_bytes", "read_once",
           "DEFAULT_TIMEOUT_S", "MAX_SERIES_BYTES", "MAX_JOB_FILE_BYTES"]

DEFAULT_TIMEOUT_S = 30.0
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev")
MAX_SERIES_BYTES = 50 << 20     # weather, price and heat series: a 15-min year with many columns is ~5 MB
MAX_JOB_FILE_BYTES = 1 << 30    # job tables: ~20 million CSV rows; larger traces need splitting


def _open_regular(path: Path, max_bytes: int, what: str) -> tuple[int, int]:
    """An open descriptor of ``path`` and its size, after the type and size checks."""
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        raise InputError(f"{what}: not a readable path", file=str(path)[:300]) from None
    if any(real == r or real.startswith(r + "/") for r in _PSEUDO_ROOTS):
        raise InputError(f"{what}: a system pseudo-file, not a data file", file=str(path)[:300],
                         allowed="a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "invalid file name"
        raise InputError(f"{what}: cannot read file: {reason}", file=str(path)[:300]) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise InputError(f"{what}: not a regular file", file=str(path)[:300], allowed="a regular file")
    if st.st_size > max_bytes:
        os.close(fd)
        raise InputError(f"{what}: file is larger than {max_bytes} bytes", file=str(path)[:300], value=st.st_size)
    return fd, st.st_size


def _read_all(fd: int, limit: int, out: list, err: list) -> None:
    try:
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        out.append(b"".join(chunks))
    except OSError as exc:
        err.append(exc)


def read_input_bytes(path: str | Path, max_bytes: int, what: str = "input file",
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``), read within ``timeout_s`` [s].

    Raises ``InputError`` naming the file and the problem, never quoting its content.
    """
    path = Path(path)
    fd, _size = _open_regular(path, max_bytes, what)
    out: list[bytes] = []
    err: list[OSError] = []
    reader = threading.Thread(target=_read_all, args=(fd, max_bytes, out, err), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if reader.is_alive():  # the descriptor is left to the stuck reader; the process exits without waiting for it
        raise InputError(f"{what}: reading took longer than {timeout_s:g} s", file=str(path)[:300])
    os.close(fd)
    if err:
        e = err[0]
        why = "it would block" if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK) else (e.strerror or str(e))
        raise InputError(f"{what}: cannot read file: {why}", file=str(path)[:300])
    data = out[0]
    if len(data) > max_bytes:
        raise InputError(f"{what}: file is larger than {max_bytes} bytes", file=str(path)[:300])
    return data


def check_input_file(path: str | Path, max_bytes: int, what: str = "input file") -> int:
    """Check that ``path`` is a regular file of at most ``max_bytes`` without reading it; return its size."""
    fd, size = _open_regular(Path(path), max_bytes, what)
    os.close(fd)
    return size


def open_regular(path: str | Path, follow: bool = True) -> BinaryIO:
    """``path`` opened for reading if it is a regular file, else OSError (a FIFO or device is never read: it
    could block forever). ``follow=False``: a symlink is refused too."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a regular file's bytes, read in 1 MiB blocks (hex); OSError for anything else."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class InputFile:
    """The bytes of one input file as read (after the type and size checks) and their SHA-256 (hex)."""

    path: str
    data: bytes
    sha256: str


_READ_ONCE: contextvars.ContextVar[dict[str, InputFile] | None] = contextvars.ContextVar("dctwin_read_once",
                                                                                       default=None)


@contextlib.contextmanager
def read_once() -> Iterator[None]:
    """Within this block (one run, one fit) each input path is opened and read once: every later reader,
    the stage cache's key and the provenance's SHA-256 get the same bytes, so what is hashed is what is parsed."""
    if _READ_ONCE.get() is not None:  # nested: the outer block's reads stand
        yield
        return
    token = _READ_ONCE.set({})
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


def read_input(path: str | Path, max_bytes: int, what: str = "input file") -> InputFile:
    """An input file's bytes and digest (``read_input_bytes`` checks); inside ``read_once`` read at most once."""
    memo = _READ_ONCE.get()
    key = os.path.abspath(path)
    got = memo.get(key) if memo is not None else None
    if got is None:
        data = read_input_bytes(path, max_bytes, what)
        got = InputFile(key, data, hashlib.sha256(data).hexdigest())
        if memo is not None:
            memo[key] = got
    elif len(got.data) > max_bytes:
        raise InputError(f"{what}: file is larger than {max_bytes} bytes", file=str(path)[:300],
                         value=len(got.data))
    return got


_OTHER_SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"))


def csv_text(data: bytes, file: str) -> str:
    """The text of a comma-separated file: UTF-8 (a leading byte-order mark dropped), its header line checked for
    another separator. A spreadsheet's ';' export or a UTF-16 file is refused by name, not read as one column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not UTF-8 text (byte {exc.start})", file=file,
                         allowed="UTF-8 text (from a spreadsheet: save as 'CSV UTF-8')") from None
    header = text.split("\n", 1)[0]
    for sep, name in _OTHER_SEPARATORS:
        if sep in header and "," not in header:
            raise InputError(f"columns are separated by {name}, not commas", file=file, field="line 1",
                             allowed="comma-separated values with '.' as the decimal mark")
    return text
