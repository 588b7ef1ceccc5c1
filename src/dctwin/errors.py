"""The project's one exception root and its user-facing subclasses.

Every error a user can cause (bad scenario, bad file, bad request) is a
``DctwinError``; the CLI prints its message and exits with code 2. Anything
else is a bug and is left loud.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DctwinError", "InputError", "ScenarioError", "CapacityError"]


class DctwinError(Exception):
    """Root of dctwin's own errors."""

    exit_code = 2


class InputError(DctwinError):
    """A file or value the user gave is not usable.

    The message names the file, the field path, the bad value and what is
    allowed, in that order, so one line tells the user what to fix.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        field: str | None = None,
        value: Any = None,
        allowed: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.file:
            parts.append(_clip(str(self.file), 240))
        if self.field:
            parts.append(f"field '{_clip(str(self.field), 240)}'")
        head = ": ".join(parts)
        msg = f"{head}: {self.problem}" if head else self.problem
        if self.value is not None:
            value = self.value
            if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
                value = value.item()  # a numpy scalar reads as its value (inf), not np.float64(inf)
            msg += f" (got {_clip(repr(value), 120)})"
        if self.allowed:
            msg += f"; allowed: {self.allowed}"
        return msg


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (a user's value can be any length; one line must stay readable)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


class ScenarioError(InputError):
    """A scenario or sweep document that does not validate."""


class CapacityError(DctwinError):
    """A run too large for this machine, refused before it starts."""
