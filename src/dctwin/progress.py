"""Progress inside a long stage: a loop reports the share of its work done; whoever listens hears it.

The cluster engine calls ``report(fraction)`` as simulated time advances; the orchestrator listens
while the cluster stage runs and moves the run's progress bar between that stage's start and the
next one's. Nothing listens by default, so models stay free of any progress plumbing.

A one-off wait the user should hear about (the compiled engine core's first compile) is told with ``notice``:
one line on stderr, unless a command runs with ``--quiet`` (``quiet()``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["listening", "notice", "quiet", "report", "sink"]

_SINK: ContextVar[Callable[[float], None] | None] = ContextVar("dctwin_progress_sink", default=None)
_QUIET: ContextVar[bool] = ContextVar("dctwin_quiet", default=False)


def sink() -> Callable[[float], None] | None:
    """The current listener (for hot loops: look it up once, call it every so often)."""
    return _SINK.get()


def report(fraction: float) -> None:
    """Tell the listener, if any, that ``fraction`` (0-1) of the current loop's work is done."""
    s = _SINK.get()
    if s is not None:
        s(fraction)


@contextlib.contextmanager
def listening(callback: Callable[[float], None]) -> Iterator[None]:
    """Route ``report`` calls made inside the block to ``callback``."""
    token = _SINK.set(callback)
    try:
        yield
    finally:
        _SINK.reset(token)


def notice(text: str) -> None:
    """One line on stderr (flushed: it precedes a long silent wait), unless inside ``quiet()``."""
    if not _QUIET.get():
        print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def quiet(on: bool = True) -> Iterator[None]:
    """No ``notice`` lines inside the block when ``on`` (a command's ``--quiet``)."""
    token = _QUIET.set(bool(on) or _QUIET.get())
    try:
        yield
    finally:
        _QUIET.reset(token)
