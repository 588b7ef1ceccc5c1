"""Which racks are online at each step, from the scenario's build-out phases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.catalog import Platform, get_platform
from dctwin.config import Scenario
from dctwin.timeline import Timeline

__all__ = ["Pool", "installed_pools"]


@dataclass(frozen=True)
class Pool:
    """All units of one platform on the site, and how many are online at each step."""

    platform: Platform
    units_online: np.ndarray  # [units] per step

    @property
    def gpus_online(self) -> np.ndarray:
        """GPUs online per step [GPUs]."""
        return self.units_online * self.platform.gpus_per_unit

    @property
    def units_installed(self) -> int:
        """Most units online at any step."""
        return int(self.units_online.max(initial=0))

    @property
    def max_it_kw(self) -> float:
        """IT power of every installed unit at full load [kW]."""
        return self.units_installed * self.platform.unit_max_kw


def installed_pools(scenario: Scenario, timeline: Timeline) -> list[Pool]:
    """One pool per platform, ordered by first appearance in the phases."""
    step_starts = timeline.timestamps
    units: dict[str, np.ndarray] = {}
    for phase in scenario.phases:
        online = np.asarray(step_starts >= pd.Timestamp(phase.start))
        for group in phase.racks:
            platform_id = get_platform(group.platform).id
            units.setdefault(platform_id, np.zeros(timeline.n_steps, dtype=np.int64))
            units[platform_id] += online * group.count
    return [Pool(get_platform(pid), arr) for pid, arr in units.items() if arr.any()]
