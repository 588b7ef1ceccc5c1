"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent

# Property tests on a shared 2-core CI machine: hypothesis's "data generation too slow" health check measures the
# machine's load, not the property, so it is off for every test (each test's own settings add to this profile).
settings.register_profile("dctwin", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dctwin")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m dctwin ARGS`` in a fresh process, as a user would."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "dctwin", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
