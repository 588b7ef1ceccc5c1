"""Write a user-named output file or folder safely: never into a finished run, never half-written.

Commands that write where the user says (``scenario schema -o``, ``workload fit -o/--figure``,
``plan -o``) check the path first: a path inside a complete run directory is refused (runs are
never modified after they finish), so is a folder where a file goes or a file where a folder goes;
a parent that cannot be created is a clear error, and text is written to a temporary file and
renamed, so a full disk leaves the old file or none.
"""

from __future__ import annotations

import os
from pathlib import Path

from dctwin.errors import InputError

__all__ = ["check_output_file", "check_output_folder", "write_output_text"]


def _resolved_outside_runs(path: Path, field: str) -> Path:
    from dctwin.results import is_complete_run

    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        raise InputError("cannot resolve the output path", file=str(path), field=field) from None
    for folder in (real, *real.parents):
        if is_complete_run(folder):
            raise InputError("output would be inside a run directory", file=str(path), field=field,
                             allowed="a path outside every run directory (runs are never modified)")
    return real


def _make_folder(folder: Path, path: Path, field: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror}", file=str(path), field=field,
                         allowed="a writable folder that is not under a file") from None


def check_output_file(path: str | Path, field: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` as an output file: outside every run, not a folder or device, its folder created."""
    path = Path(path)
    real = _resolved_outside_runs(path, field)
    if real.exists() and not real.is_file():
        raise InputError("output path exists and is not a regular file", file=str(path), field=field)
    if suffixes and real.suffix.lower() not in suffixes:
        raise InputError("unsupported output file type", file=str(path), field=field, value=real.suffix,
                         allowed=", ".join(suffixes))
    _make_folder(real.parent, path, field)
    return path


def check_output_folder(path: str | Path, field: str = "--out") -> Path:
    """``path`` as an output folder: outside every run, not a file, created."""
    path = Path(path)
    real = _resolved_outside_runs(path, field)
    if real.exists() and not real.is_dir():
        raise InputError("output path exists and is not a folder", file=str(path), field=field)
    _make_folder(real, path, field)
    return path


def write_output_text(path: str | Path, text: str, field: str = "--out") -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename; OSError becomes InputError."""
    path = check_output_file(path, field)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file: {exc.strerror}", file=str(path), field=field) from None
    return path
