"""The mapping file: which telemetry series is which dctwin quantity, in which unit.

A mapping is a small YAML file that an operator writes once per site::

    step_s: 60                 # the grid every series is aligned to [s]
    naive_timezone: UTC        # zone of timestamps written without an offset; omit to refuse them
    max_gap_s: 600             # gaps up to this long are interpolated, longer ones stay missing [s]
    series:
      it_power_kw:             # a dctwin quantity (see dctwin.telemetry.quantities)
        source: DCGM_FI_DEV_POWER_USAGE   # column (wide table), series name (long table) or metric name;
                                          # a leading ~ makes it a regular expression (e.g. "~it_row_\\d+_kw")
        labels: {Hostname: "~gpu-.*"}    # label matchers; a leading ~ makes a regular expression
        unit: W
        aggregate: sum         # several matching series: sum or mean
        scale: 1.35            # optional factor, e.g. GPU power to rack power; say why in `note`
        note: GPUs are 74 % of node power (vendor sheet)
      grid_power_kw: {source: site_main_meter_kwh, unit: kWh, counter: true}
      dry_bulb_c: {source: oat, unit: degF, clock_offset_s: -30}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from dctwin.config.base import Section
from dctwin.config.load import read_yaml
from dctwin.errors import InputError
from dctwin.telemetry.quantities import QUANTITIES, accepted_units, unit_kind

__all__ = ["SeriesMap", "TelemetryMap", "read_mapping"]


def _compile(pattern: str, what: str) -> None:
    if pattern.startswith("~"):
        try:
            re.compile(pattern[1:])
        except re.error as exc:
            raise ValueError(f"{what}: bad regular expression: {exc}") from None


class SeriesMap(Section):
    source: str = Field(min_length=1, max_length=400,
                        description="Column, series or metric name in the file; '~' prefix = regex over names.")
    labels: dict[str, str] = Field(default_factory=dict, description="Label matchers; '~' prefix = regex.")
    unit: str = Field(description="Unit the values are written in.")
    counter: bool = Field(False, description="A cumulative counter (e.g. a kWh meter): differenced to a rate.")
    aggregate: Literal["sum", "mean"] = Field("sum", description="How several matching series combine.")
    scale: float = Field(1.0, gt=0, le=1e6, description="Factor applied after unit conversion [-].")
    clock_offset_s: float = Field(0.0, ge=-86400, le=86400, description="Added to this series' timestamps [s].")
    note: str = Field("", max_length=2000, description="Why the scale or offset is what it is.")

    @field_validator("source")
    @classmethod
    def _source_regex_compiles(cls, source: str) -> str:
        _compile(source, "source")
        return source

    @field_validator("labels")
    @classmethod
    def _regexes_compile(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, pattern in labels.items():
            _compile(pattern, f"label {key!r}")
        return labels


    @model_validator(mode="after")
    def _scale_needs_note(self) -> SeriesMap:
        if (self.scale != 1.0 or self.clock_offset_s != 0.0) and not self.note.strip():
            raise ValueError("a scale or clock_offset_s other than the default needs a `note` saying why")
        return self


class TelemetryMap(Section):
    step_s: int = Field(60, ge=1, le=3600, description="Step every series is aligned to [s].")
    naive_timezone: str | None = Field(None, description="IANA zone of timestamps without an offset.")
    epoch_unit: Literal["s", "ms"] | None = Field(None, description="Unit of numeric timestamps in tables.")
    max_gap_s: int = Field(600, ge=0, le=86400, description="Longest gap filled by interpolation [s].")
    series: dict[str, SeriesMap] = Field(description="dctwin quantity -> where it is in the telemetry.")

    @field_validator("naive_timezone")
    @classmethod
    def _zone_exists(cls, zone: str | None) -> str | None:
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
                raise ValueError(f"unknown time zone {zone[:60]!r} (use an IANA name such as UTC or "
                                 "Europe/Stockholm)") from None
        return zone

    @model_validator(mode="after")
    def _known_quantities_and_units(self) -> TelemetryMap:
        for name, spec in self.series.items():
            if name not in QUANTITIES:
                raise ValueError(f"unknown quantity {name!r}; known: {', '.join(sorted(QUANTITIES))}")
            q = QUANTITIES[name]
            if spec.counter and unit_kind(q, True) != "energy":
                raise ValueError(f"{name}: only power quantities can be read from counters")
            if spec.unit not in accepted_units(q, spec.counter):
                raise ValueError(f"{name}: unit {spec.unit!r} not allowed; allowed: "
                                 f"{', '.join(accepted_units(q, spec.counter))}")
        if "it_power_kw" not in self.series:
            raise ValueError("series must map it_power_kw: the measured IT power drives the replay")
        return self


def read_mapping(path: str | Path) -> TelemetryMap:
    """Parse and check a mapping file; any problem is an ``InputError`` naming the file and field."""
    file = str(path)
    data = read_yaml(Path(path), what="a telemetry mapping")
    try:
        return TelemetryMap.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise InputError(first["msg"].removeprefix("Value error, "), file=file, field=where) from None
