"""The cache key of the core's entry points: every source file whose code they link in.

numba keys a cached function by the content of its own file only, and its cache of ``run_slice`` holds the
machine code of every function it calls, in any file. Without this an edit to, say, ``capacity.py`` would
leave the old code running from the cache of ``loop.py``. ``cover_sources`` makes the key the hash of all
the files below, so an edit to any of them compiles the core again (tests/test_engine_core.py checks the list
is complete).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

_CORE = Path(__file__).resolve().parent
SOURCES = tuple(_CORE / f"{m}.py" for m in ("layout", "store", "life", "queue", "capacity", "loop", "check")) + (
    _CORE.parent / "placement" / "kernels.py",)


def sources_digest() -> bytes:
    """SHA-256 over the contents of ``SOURCES``, in order."""
    h = hashlib.sha256()
    for path in SOURCES:
        h.update(path.read_bytes())
    return h.digest()


def cover_sources(*dispatchers) -> None:
    """Key the caches of ``dispatchers`` (numba ``cache=True`` functions) by ``sources_digest()``."""
    digest = sources_digest()
    for d in dispatchers:
        cache_file = getattr(getattr(d, "_cache", None), "_cache_file", None)
        if cache_file is None or not hasattr(cache_file, "_source_stamp"):   # a numba without these internals
            warnings.warn(f"numba's cache of {d.__name__} is keyed by its own file only: after editing another "
                          "engine core file delete cluster/core/__pycache__/*.nb*", stacklevel=2)
            continue
        cache_file._source_stamp = (cache_file._source_stamp, digest)
