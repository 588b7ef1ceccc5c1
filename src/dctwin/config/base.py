"""Base class of every scenario section: frozen, strict about unknown keys, numbers in a computable range."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["Section", "MAX_ABS_NUMBER", "MIN_ABS_NUMBER"]

MAX_ABS_NUMBER = 1e15     # larger than any physical or money quantity a scenario holds; 1e308 overflowed to null KPIs
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MIN_ABS_NUMBER = 1e-12    # smaller non-zero magnitudes (5e-324) divided to infinity and crashed


def _computable(value: Any) -> Any:
    if isinstance(value, float) and value != 0.0 and not MIN_ABS_NUMBER <= abs(value) <= MAX_ABS_NUMBER:
        raise ValueError(f"number {value!r} is outside the computable range: 0 or a magnitude from "
                         f"{MIN_ABS_NUMBER:g} to {MAX_ABS_NUMBER:g}")
    if isinstance(value, dict):
        for v in value.values():
            _computable(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _computable(v)
    return value


class Section(BaseModel):
    """A frozen, validated block of a scenario.

    Unknown keys are errors (a typo must not be silently ignored) and every
    field carries a description, which becomes the scenario reference. Every
    float is 0 or has a magnitude in [1e-12, 1e15], so no field can overflow
    a result into infinity or null.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        allow_inf_nan=False,
        use_attribute_docstrings=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """``step_s: true`` is not the number 1: a bool is refused where a number is expected."""
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            ann = cls.model_fields[info.field_name].annotation
            kinds = set(get_args(ann)) | {ann}
            if bool not in kinds and kinds & {int, float}:
                raise ValueError(f"expected a number, not {str(value).lower()}")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _only_bool_as_bool(cls, value: Any, info: ValidationInfo) -> Any:
        """``cuda_graphs: 1``, ``'yes'``, ``'on'`` or ``1.0`` are not true: a switch is written true or false."""
        exact = isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b"  # numpy bool
        if info.field_name in cls.model_fields and value is not None and not exact:
            ann = cls.model_fields[info.field_name].annotation
            if ann is bool or set(get_args(ann)) == {bool, type(None)}:
                raise ValueError("expected true or false")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _exact_date(cls, value: Any, info: ValidationInfo) -> Any:
        """A calendar date is written YYYY-MM-DD: a time of day, a UTC offset or a Unix timestamp in its place
        would be dropped or guessed, so it is refused."""
        if info.field_name in cls.model_fields and cls.model_fields[info.field_name].annotation is dt.date:
            exact = (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or (
                isinstance(value, str) and _DATE.fullmatch(value.strip()))
            if not exact:
                raise ValueError("expected a calendar date written YYYY-MM-DD (no time of day, UTC offset or "
                                 "timestamp)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _numbers_computable(cls, value: Any) -> Any:
        return _computable(value)
