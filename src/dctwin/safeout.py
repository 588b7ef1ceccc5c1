"""Write a user-named output file or folder safely: never into a finished run, never half-written.

Commands that write where the user says (``scenario schema -o``, ``workload fit -o/--figure``,
``plan -o``) check the path first: a path inside a complete run directory is refused (runs are
never modified after they finish), so is a folder where a file goes or a file where a folder goes;
a parent that cannot be created is a clear error, and text is written to a temporary file and
renamed, so a full disk leaves the old file or none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from dctwin.errors import InputError

__all__ = ["check_new_folder", "check_new_run_dir", "check_outside_runs", "check_output_file", "check_output_folder",
           "staged_folder", "write_output_text"]


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


def check_outside_runs(path: str | Path, field: str) -> Path:
    """``path`` resolved, if it is neither a finished run directory nor inside one (runs are never modified)."""
    return _resolved_outside_runs(Path(path), field)


def _make_folder(folder: Path, path: Path, field: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror}", file=str(path), field=field,
                         allowed="a writable folder that is not under a file") from None


def check_output_file(path: str | Path, field: str = "--out", suffixes: tuple[str, ...] = (),
                      replace: bool = False) -> Path:
    """``path`` as an output file: outside every run, not a folder or device, of one of ``suffixes`` (any when
    empty), not an existing file unless ``replace`` (the command's --force), its folder created."""
    path = Path(path)
    real = _resolved_outside_runs(path, field)
    if real.exists() and not real.is_file():
        raise InputError("output path exists and is not a regular file", file=str(path), field=field)
    if suffixes and real.suffix.lower() not in suffixes:
        raise InputError("unsupported output file type", file=str(path), field=field, value=real.suffix,
                         allowed=", ".join(suffixes))
    if real.exists() and not replace:  # a scenario, a trace or a README named by mistake would be lost
        raise InputError("output file exists; dctwin never overwrites a file without --force", file=str(path),
                         field=field, allowed="a new file name, or --force to replace it")
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


def write_output_text(path: str | Path, text: str, field: str = "--out", suffixes: tuple[str, ...] = (),
                      replace: bool = False) -> Path:
    """Write ``text`` to ``path`` (``check_output_file``'s checks) through a temporary file and a rename; OSError
    becomes InputError."""
    path = check_output_file(path, field, suffixes, replace)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file: {exc.strerror}", file=str(path), field=field) from None
    return path


def check_new_folder(path: str | Path, field: str = "--out") -> Path:
    """``path`` as a new output folder: ``check_output_folder``'s checks, and empty (results are never overwritten
    or mixed with another command's files)."""
    path = check_output_folder(path, field)
    if any(path.iterdir()):
        raise InputError("output folder exists and is not empty; dctwin never overwrites results", file=str(path),
                         field=field, allowed="a new or empty folder")
    return path


@contextlib.contextmanager
def staged_folder(path: str | Path, field: str = "--out") -> Iterator[Path]:
    """Write a new output folder whole or not at all: yields a hidden sibling to write into, renamed to ``path``
    when the block ends; an error or Ctrl-C inside the block removes it, so no half-written folder is left.
    The sibling is named as a run's staging (``.dctwin-partial-<name>-<pid>``): one killed outright (SIGKILL) is
    removed by the next command writing into the same folder, as a run's is."""
    from dctwin.results.run_dir import STAGING_PREFIX, remove_stale_staging

    existed = os.path.lexists(path)
    path = check_new_folder(path, field)
    remove_stale_staging(path.parent)  # the run's own sweep: staging of killed writers (SIGKILL skips the finally)
    stage = path.parent / f"{STAGING_PREFIX}{path.name}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    done = False
    try:
        yield stage
        try:
            os.replace(stage, path)  # onto the empty folder; one another command filled meanwhile is not replaced
        except OSError as exc:
            raise InputError(f"cannot put the output folder in place: {exc.strerror}", file=str(path), field=field,
                             allowed="a new or empty folder that no other command writes meanwhile") from None
        done = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not done and not existed:
            with contextlib.suppress(OSError):
                path.rmdir()  # the empty folder the checks made; left if another command wrote into it


def check_new_run_dir(out: str | Path, cache=None, field: str = "--out") -> Path:
    """Before a run starts (not after it): ``out`` is new, not inside a finished run, and its folder can be created
    and written; the stage cache (``cache``: a folder or a ``StageCache``) is neither the run directory nor inside
    it."""
    out = Path(out)
    if os.path.lexists(out):
        raise InputError("output directory already exists; dctwin never overwrites a run", file=str(out),
                         allowed="a new directory (or omit --out for a fresh one under runs/)")
    real = _resolved_outside_runs(out, field)
    _make_folder(real.parent, out, field)
    if not os.access(real.parent, os.W_OK | os.X_OK):  # permissions and a read-only mount; no probe file is left
        raise InputError("cannot write in the output folder", file=str(out), field=field, allowed="a writable folder")
    cache = getattr(cache, "root", cache) if not isinstance(cache, str | Path) else cache  # a StageCache's folder
    if isinstance(cache, str | Path):
        try:
            c = Path(cache).resolve()
        except (OSError, RuntimeError):
            raise InputError("cannot resolve the stage-cache path", file=str(cache), field="--cache") from None
        if c == real or real in c.parents:
            raise InputError("the stage cache cannot be the run directory or inside it", file=str(cache),
                             field="--cache", allowed="a folder of its own (it outlives the run)")
    return out
