"""What the planner must respect and reach: budget, grid, floor, a compute target, a carbon cap."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from dctwin.config.base import Section
from dctwin.errors import InputError

__all__ = ["REDUNDANCY_ORDER", "PlanConstraints", "load_constraints"]

REDUNDANCY_ORDER = ("N", "N+1", "2N")


class PlanConstraints(Section):
    budget_eur: float | None = Field(None, gt=0, description="Most capex allowed [EUR].")
    grid_connection_mw: float | None = Field(
        None, gt=0, description="Grid connection [MW]; default: the base scenario's site.grid_connection_mw."
    )
    floor_space_m2: float | None = Field(
        None, gt=0, description="White space for racks [m2]; default: the base scenario's site.floor_space_m2."
    )
    min_training_pflops: float | None = Field(
        None, ge=0, description="Training capacity to reach: FP8 dense x MFU on the training GPUs [PFLOP/s]."
    )
    min_tokens_per_day: float | None = Field(
        None, ge=0, description="Inference capacity to reach: output tokens per day of token_model [tokens/day]."
    )
    token_model: str | None = Field(None, description="Model for the token target; default: first inference service.")
    carbon_cap_t_per_year: float | None = Field(None, ge=0, description="Market-based scope 2 cap [tCO2/year].")
    min_redundancy: Literal["N", "N+1", "2N"] = Field("N", description="Least redundancy of the power chain.")
    platforms: list[str] | None = Field(None, description="Rack types allowed (catalog ids); default: every rack type.")
    max_ppa_share: float = Field(1.0, ge=0, le=1, description="Largest PPA share on offer [-].")
    max_racks: int = Field(2000, ge=1, le=100_000, description="Upper bound on racks per phase and platform.")

    @model_validator(mode="after")
    def _target(self) -> PlanConstraints:
        if self.min_training_pflops is None and self.min_tokens_per_day is None:
            raise ValueError("give a target: min_training_pflops or min_tokens_per_day")
        return self


def load_constraints(path: str | Path) -> PlanConstraints:
    """Read a constraints YAML file; bad content raises InputError naming the field."""
    from dctwin.config.load import _field_path, read_yaml

    p = Path(path)
    if not p.is_file():
        raise InputError("constraints file not found", file=str(p), allowed="a YAML file")
    # one reader for every YAML a user gives: size cap, UTF-8, duplicate keys and unreadable dates refused
    data = read_yaml(p, what="constraints")
    try:
        return PlanConstraints.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = _field_path(tuple(err["loc"]))  # a key that is not a field name (a line of another file) is not echoed
        echo = field and "<key" not in field
        raise InputError(err["msg"].removeprefix("Value error, "), file=str(p), field=field or None,
                         value=err.get("input") if echo else None) from None
