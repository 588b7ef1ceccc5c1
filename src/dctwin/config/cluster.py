"""Scheduling, placement and failure settings of the cluster simulation.

Owned by the cluster engine.
"""

from __future__ import annotations

from pydantic import Field

from dctwin.config.base import Section

__all__ = ["SchedulerConfig"]


class SchedulerConfig(Section):
    policy: str = Field("easy_backfill", description="Scheduling policy name (see `dctwin run --help`).")
    placement: str = Field("topology", description="Placement policy name.")
