"""The site stage of a run: weather, grid price and carbon, district-heating demand on the run's steps."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dctwin.config.site import SiteConfig
from dctwin.site.series import site_series
from dctwin.timeline import Timeline

__all__ = ["SiteSeries", "site_stage"]


@dataclass(frozen=True)
class SiteSeries:
    """Exogenous site series, one row per step (columns: see ``dctwin.site.series.site_series``)."""

    frame: pd.DataFrame


def site_stage(site: SiteConfig, timeline: Timeline, seed: int) -> SiteSeries:
    """The site's series for ``timeline``, index 0..n-1."""
    return SiteSeries(site_series(site, timeline, seed).reset_index(drop=True))
