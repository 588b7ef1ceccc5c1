"""Throughput of a GPU held below its rated power (power capping / DVFS).

Under a power cap the GPU lowers clock and voltage. Because dynamic power
falls faster than frequency (P ~ f * V^2) and part of the work is bound by
memory, throughput falls much less than power near the top of the range:

    throughput / throughput_at_max = (cap / max_power) ** exponent

with the exponent fitted to MLPerf's paired power-limited runs (0.49 for
8x H100 at 450 of 700 W, 0.37 for 8x H200 at 700 of 1,000 W). At 80% power
this gives ~91% throughput. Caps above the rated power give no gain.
"""

from __future__ import annotations

import numpy as np

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.params import PerfParams, packaged_perf_params

__all__ = ["power_cap_throughput_factor"]


def power_cap_throughput_factor(platform: Platform, cap_frac, exponent: float | None = None, *,
                                params: PerfParams | None = None):
    """Relative throughput [-] of ``platform``'s GPUs capped at ``cap_frac`` of ``gpu_max_w``.

    ``cap_frac`` may be a scalar or an array; the result has the same shape
    (a float for a scalar). Values above 1 return 1. ``exponent`` overrides
    the fitted value of the run's performance constants ``params`` (power_cap.throughput_exponent; None: the
    packaged ones).
    """
    c = (params or packaged_perf_params()).power_cap
    alpha = c["throughput_exponent"] if exponent is None else float(exponent)
    frac = np.asarray(cap_frac, dtype=float)
    if np.any(~np.isfinite(frac)) or np.any(frac < c["min_cap_fraction"]):
        bad = frac[~np.isfinite(frac) | (frac < c["min_cap_fraction"])].reshape(-1)[0]
        raise InputError(f"power cap below what {platform.gpu_name} GPUs can be set to", field="cap_frac",
                         value=float(bad), allowed=f">= {c['min_cap_fraction']} of gpu_max_w ({platform.gpu_max_w} W)")
    factor = np.minimum(frac, 1.0) ** alpha
    return float(factor) if factor.ndim == 0 else factor
