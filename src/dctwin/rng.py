"""Named random streams derived from one root seed.

Each subsystem draws from its own stream (``stream(seed, "weather")``), so
adding draws in one never shifts another: same seed, same bytes.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream"]


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator for subsystem ``name`` under root ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode("utf-8"))]))
