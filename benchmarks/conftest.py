"""Shared set-up of the benchmarks: the peer-comparison helpers in ``benchmarks/peer`` are importable.

Run the benchmarks with pytest-benchmark, one file at a time on a quiet machine:

    .venv/bin/pytest benchmarks/bench_peer_hpcsim.py --benchmark-only -p no:xdist -q
"""

from __future__ import annotations

import sys
from pathlib import Path

PEER = Path(__file__).resolve().parent / "peer"
if str(PEER) not in sys.path:
    sys.path.insert(0, str(PEER))


def pytest_configure(config):
    config.addinivalue_line("markers", "peer: compares dctwin with a peer simulator installed from PyPI")


def pytest_collect_file(parent, file_path):
    """Collect ``bench_*.py`` files too when a directory is given (``pytest benchmarks``, as ``make bench`` does)."""
    import pytest

    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
