"""Garbage-collector settings of a dctwin command's process (the command line only: a library leaves them alone).

A run allocates millions of short-lived containers (event tuples, per-job rows), and CPython's cyclic collector
traces the survivors again and again: ~0.25-0.3 s CPU of the default year went to collections, and as much again
to the full collections of the interpreter's shutdown, work whose result is thrown away. Both settings rest on
public CPython APIs and change no result, only when the collector runs:

- after the imports, the objects they made (modules, classes, functions: ~120,000) move to the collector's
  permanent generation (``gc.freeze``), and a young collection waits for 10,000 new containers instead of 700:
  reference counting still frees every object that is not in a cycle at once;
- when the command has finished, the objects still alive are frozen too, so the shutdown leaves them to reference
  counting; only cycles already unreachable at that moment are not traced again, and the ending process returns
  their memory to the system anyway. Every file dctwin writes is closed (and renamed into place) before.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_COLLECTION_OBJECTS", "settle_after_imports", "settle_for_exit"]

YOUNG_COLLECTION_OBJECTS = 10_000  # CPython's default is 700; 10,000 took the year's collections 0.25-0.31 -> 0.15 s


def settle_after_imports() -> None:
    """Call once the command has imported what it runs, before the work starts."""
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_COLLECTION_OBJECTS, young), older, oldest)


def settle_for_exit() -> None:
    """Call last, from a program's entry point, when nothing but the interpreter's shutdown follows."""
    gc.freeze()
