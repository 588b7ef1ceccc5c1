"""Run results: the run directory on disk and the in-memory result object."""

from dctwin.results.result import RunResult, open_run
from dctwin.results.run_dir import is_complete_run, read_manifest, verify_run_dir, write_run_dir

__all__ = ["RunResult", "open_run", "write_run_dir", "is_complete_run", "read_manifest", "verify_run_dir"]
