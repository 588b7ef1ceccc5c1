"""Base class of every scenario section: frozen, strict about unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Section"]


class Section(BaseModel):
    """A frozen, validated block of a scenario.

    Unknown keys are errors (a typo must not be silently ignored) and every
    field carries a description, which becomes the scenario reference.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        allow_inf_nan=False,
        use_attribute_docstrings=False,
    )
