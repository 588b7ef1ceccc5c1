"""Ctrl-C ends every dctwin command one way: one line on stderr and exit code 130, never a traceback and never a
death by the signal (exit status -2), whenever it comes once dctwin's code runs.

Three windows used to end ~1 run in 20 by the signal:

- CPython (3.11 and later) notes a KeyboardInterrupt raised inside code that ``exec`` runs from a string
  (``dataclasses`` and ``collections.namedtuple`` build their methods so, e.g. while a module is imported lazily
  mid-run) as "unhandled" even when it is caught later, and at exit the interpreter then kills itself with SIGINT.
  The next ``exec`` of a string clears that note, so ``clear_unhandled_interrupt`` runs one;
- Ctrl-C while the command line's modules are imported, before ``dctwin.cli.main``'s handler is in place:
  ``dctwin.__main__.main`` (the program's entry point) imports them inside its own handler;
- Ctrl-C during the interpreter's shutdown after the command: ``ignore_interrupts`` once the command is over.

And one lost it: a KeyboardInterrupt raised while Python runs a weakref callback or a finalizer (the import
machinery's module locks have one) cannot propagate; it was printed as "Exception ignored ... Traceback" and the
run went on to its end. ``pass_on_lost_interrupts`` raises it again in the main thread's next instructions.

Only the interpreter's own start-up (before any dctwin code runs, nothing read or written) stays as for any
program.
"""

from __future__ import annotations

import _thread
import signal
import sys
from typing import NoReturn

__all__ = ["EXIT_CODE", "MESSAGE", "clear_unhandled_interrupt", "exit_interrupted", "ignore_interrupts",
           "pass_on_lost_interrupts"]

MESSAGE = "interrupted; nothing half-written was left behind"
EXIT_CODE = 130  # 128 + SIGINT, as shells report a program ended by Ctrl-C


def clear_unhandled_interrupt() -> None:
    """Clear CPython's note of an unhandled KeyboardInterrupt, set when one passed through ``exec`` of a string
    though it was handled after (each ``exec`` of a string resets the note before running; this one raises none)."""
    exec("pass", {})  # a constant string, run for the reset it does


def ignore_interrupts() -> None:
    """Ignore further Ctrl-C in this process: its command is over and only the interpreter's shutdown follows."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread (a caller embedding the command line): leave its handler alone
        pass


def exit_interrupted(say=None) -> NoReturn:
    """End the command after Ctrl-C: ``say(MESSAGE)`` (else a plain line on stderr), exit code 130."""
    clear_unhandled_interrupt()
    if say is None:
        print(MESSAGE, file=sys.stderr, flush=True)
    else:
        say(MESSAGE)
    sys.exit(EXIT_CODE)


def _unraisable(info) -> None:
    if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
        # Ctrl-C again from another thread, so that it is raised once this hook has returned, where it can propagate
        _thread.start_new_thread(_thread.interrupt_main, ())
        return
    sys.__unraisablehook__(info)


def pass_on_lost_interrupts() -> None:
    """A KeyboardInterrupt swallowed as "unraisable" (raised in a weakref callback or a finalizer) is raised again
    in the main thread instead of printed and lost (the command line only: a library leaves the hook alone)."""
    sys.unraisablehook = _unraisable
