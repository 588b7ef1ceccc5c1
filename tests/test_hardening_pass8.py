"""Hardening pass 8 (issue #21's standard): one check before a run directory is written, same seed same bytes for
every file of a run directory, Ctrl-C always ends in the documented message and exit code, and every accepted
scenario field acts or is refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.results import write_run_dir
from dctwin.safeout import check_new_run_dir


def _tables() -> dict[str, pd.DataFrame]:
    return {"timeseries": pd.DataFrame({"t_s": [0, 900], "it_power_kw": [1.0, 2.0]})}


def _finished_run(tmp_path: Path) -> Path:
    return write_run_dir(tmp_path / "done", _tables(), {"pue": 1.1}, {"seed": 1})


@pytest.mark.parametrize("where", ["exists", "inside_run", "under_file"])
def test_write_run_dir_refuses_with_the_one_new_run_dir_check(tmp_path, where):
    """write_run_dir and `dctwin run -o` refuse a bad output folder by one check, so with one message."""
    if where == "exists":
        out = tmp_path / "taken"
        out.mkdir()
    elif where == "inside_run":
        out = _finished_run(tmp_path) / "nested"
    else:
        (tmp_path / "afile").write_text("x", encoding="utf-8")
        out = tmp_path / "afile" / "run"
    with pytest.raises(InputError) as direct:
        check_new_run_dir(out)
    with pytest.raises(InputError) as written:
        write_run_dir(out, _tables(), {}, {})
    assert str(written.value) == str(direct.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dctwin-partial-")]
