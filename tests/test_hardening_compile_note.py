"""The compiled engine core's first compile (~21-36 s CPU after `pip install`) is announced on stderr.

Before: a first compiled run sat silent for half a minute. Now one line says so, only when numba's cache has no
machine code for the core (a temporary NUMBA_CACHE_DIR here), never with `--quiet`, never in a warm run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")

from dctwin.cluster.core.warm import COMPILE_NOTE  # noqa: E402

TINY = "extends: borlange-2027\nname: tiny\nsimulation: {duration_days: 1, step_s: 3600}\n"


def _run(tmp_path, cache, name: str, *flags: str) -> str:
    r = subprocess.run([sys.executable, "-m", "dctwin", "run", str(tmp_path / "tiny.yaml"), "--no-report",
                        "--out", str(tmp_path / name), *flags], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "DCTWIN_ENGINE": "compiled", "NUMBA_CACHE_DIR": str(cache)})
    assert r.returncode == 0, r.stderr
    return r.stderr


@pytest.mark.slow
def test_the_first_compile_is_announced_once_only_when_the_cache_is_cold(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY, encoding="utf-8")
    cache = tmp_path / "numba-cache"
    # cold and --quiet: it compiles (the cache fills) and says nothing
    assert COMPILE_NOTE not in _run(tmp_path, cache, "quiet-cold", "-q")
    core = sorted(cache.glob("core_*/loop.finish_books-*.nbi"))
    assert core and sorted(cache.glob("core_*/loop.run_slice-*.nbi")), sorted(cache.rglob("*"))
    # warm: loaded from the cache, nothing said
    assert COMPILE_NOTE not in _run(tmp_path, cache, "warm")
    # one entry point's cache gone (cheaper than all of it: ~2 s to compile it again): announced, once
    for f in core[0].parent.glob("loop.finish_books-*"):
        f.unlink()
    err = _run(tmp_path, cache, "cold")
    assert err.count(COMPILE_NOTE) == 1, err
    assert COMPILE_NOTE not in _run(tmp_path, cache, "warm-again")


def test_notices_are_silenced_by_quiet(capsys):
    from dctwin.progress import notice, quiet

    with quiet():
        notice("hidden")
    notice("shown")
    assert capsys.readouterr().err == "shown\n"
