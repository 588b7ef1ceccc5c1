"""A terminal progress bar with an estimate of the time left (rich).

``terminal_progress()`` is a context manager that yields a callback with the
run's progress signature ``progress(stage, fraction)``. The bar appears only
once a run has taken longer than ``delay_s``, so short runs stay quiet.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator

__all__ = ["ProgressTracker", "eta_s", "format_eta", "terminal_progress"]


def eta_s(elapsed_s: float, fraction: float) -> float | None:
    """Time left by linear extrapolation of the elapsed time [s]; ``None`` before any progress."""
    if fraction <= 0.0 or math.isnan(fraction):
        return None
    if fraction >= 1.0:
        return 0.0
    return elapsed_s * (1.0 - fraction) / fraction


class ProgressTracker:
    """Stage, fraction done, elapsed time and ETA of one run; thread-safe enough for a reader thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.stage = "starting"
        self.fraction = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        self.stage = str(stage)
        self.fraction = min(max(float(fraction), self.fraction), 1.0)

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self.started

    @property
    def eta_s(self) -> float | None:
        return eta_s(self.elapsed_s, self.fraction)


def format_eta(seconds: float | None) -> str:
    """``'1:02:03 left'`` style text, or ``'estimating'``."""
    if seconds is None:
        return "estimating"
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return (f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}") + " left"


@contextlib.contextmanager
def terminal_progress(enabled: bool = True, label: str = "run", delay_s: float = 2.0,
                      stream=None) -> Iterator[Callable[[str, float], None]]:
    """Yield a ``progress(stage, fraction)`` callback that draws a rich bar with ETA on stderr.

    The bar is drawn only once the run has lasted ``delay_s``; the time left
    is the elapsed time extrapolated linearly over the fraction done.
    """
    tracker = ProgressTracker()
    if not enabled:
        yield tracker
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, ProgressColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class _Eta(ProgressColumn):
        def render(self, task) -> Text:
            return Text(format_eta(tracker.eta_s), style="progress.remaining")

    console = Console(file=stream or sys.stderr)
    bar = Progress(TextColumn("[bold]{task.fields[label]}[/] {task.description:<10}"), BarColumn(),
                   TaskProgressColumn(), TimeElapsedColumn(), _Eta(), console=console, transient=False)
    task = bar.add_task("starting", total=1.0, label=label)
    lock = threading.Lock()
    state = {"shown": False, "done": False}

    def show() -> None:
        with lock:
            if not state["done"] and not state["shown"]:
                bar.start()
                state["shown"] = True

    timer = threading.Timer(delay_s, show)
    timer.daemon = True
    timer.start()

    def callback(stage: str, fraction: float) -> None:
        tracker(stage, fraction)
        bar.update(task, completed=tracker.fraction, description=tracker.stage)

    try:
        yield callback
        bar.update(task, completed=1.0, description="done")
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["shown"]:
                bar.stop()
