"""The run directory: atomic, never overwritten, self-describing, reproducible bytes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dctwin.errors import InputError
from dctwin.results import is_complete_run, read_manifest, write_run_dir


def frames():
    rng = np.random.default_rng(0)
    return {"timeseries": pd.DataFrame({"t_s": np.arange(100) * 900, "it_power_kw": rng.random(100)})}


def test_complete_run_has_manifest_with_hashes(tmp_path):
    out = write_run_dir(tmp_path / "r", frames(), {"pue": 1.1}, {"seed": 1}, texts={"scenario.yaml": "a: 1\n"})
    assert is_complete_run(out)
    m = read_manifest(out)
    assert m["complete"] is True and m["seed"] == 1
    assert set(m["files"]) == {"timeseries.parquet", "kpis.json", "scenario.yaml"}
    assert json.loads((out / "kpis.json").read_text()) == {"pue": 1.1}
    assert not list(tmp_path.glob(".*partial*"))


def test_existing_run_is_never_overwritten(tmp_path):
    out = write_run_dir(tmp_path / "r", frames(), {"pue": 1.1}, {})
    before = (out / "timeseries.parquet").read_bytes()
    with pytest.raises(InputError, match="never overwrites"):
        write_run_dir(tmp_path / "r", frames(), {"pue": 2.0}, {})
    assert (out / "timeseries.parquet").read_bytes() == before


def test_same_tables_same_bytes(tmp_path):
    a = write_run_dir(tmp_path / "a", frames(), {}, {})
    b = write_run_dir(tmp_path / "b", frames(), {}, {})
    assert (a / "timeseries.parquet").read_bytes() == (b / "timeseries.parquet").read_bytes()


def test_failure_mid_write_leaves_nothing_that_looks_complete(tmp_path):
    bad = {"timeseries": frames()["timeseries"], "jobs": pd.DataFrame({"x": [object()]})}
    with pytest.raises(pa.ArrowException):
        write_run_dir(tmp_path / "r", bad, {}, {})
    assert not (tmp_path / "r").exists()
    assert not list(tmp_path.iterdir())


def test_killed_writer_leaves_no_complete_run(tmp_path):
    """SIGKILL while writing: the target never appears half-written."""
    script = textwrap.dedent(f"""
        import numpy as np, pandas as pd, os, signal
        from dctwin.results import run_dir
        orig = run_dir.write_table
        def slow(frame, path):
            orig(frame, path)
            os.kill(os.getpid(), signal.SIGKILL)
        run_dir.write_table = slow
        run_dir.write_run_dir({str(tmp_path / 'r')!r}, {{"t": pd.DataFrame({{"x": np.arange(10)}})}}, {{}}, {{}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "r").exists()
    assert not is_complete_run(tmp_path / "r")
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".") and "partial" in name for name in leftovers)
