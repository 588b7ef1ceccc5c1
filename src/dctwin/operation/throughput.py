"""A power-capped GPU works more slowly: the job table of a capped run.

The throughput factor itself is ``dctwin.perf.power.power_cap_throughput_factor`` (MLPerf-fitted power
law), the one implementation every caller uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["slowed_jobs"]


def slowed_jobs(jobs: pd.DataFrame, throughput_factor: np.ndarray) -> pd.DataFrame:
    """Jobs whose durations [s] stretch by the run's mean throughput factor [-] when any step is capped."""
    if not np.any(throughput_factor < 1):
        return jobs
    return jobs.assign(duration_s=jobs["duration_s"] / float(np.mean(throughput_factor)))
