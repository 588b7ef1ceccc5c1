"""Work rate of a power-capped GPU.

Uses ``dctwin.perf.power.power_cap_throughput_factor`` (MLPerf-fitted power
law). If that module is absent (a trimmed install) a stand-in is used: dynamic power grows with the cube of the clock
(voltage tracks
frequency), so a cap leaves ``((cap x P_max - P_idle) / (P_max - P_idle))^(1/3)``
of the clock, and compute-bound work slows in proportion.
"""

from __future__ import annotations

import numpy as np

from dctwin.catalog import Platform

__all__ = ["power_cap_throughput_factor"]


def _stand_in(platform: Platform, cap_frac: np.ndarray) -> np.ndarray:
    idle, pmax = platform.gpu_idle_w, platform.gpu_max_w
    dyn = np.clip((np.asarray(cap_frac, dtype=float) * pmax - idle) / (pmax - idle), 0.0, 1.0)
    return np.cbrt(dyn)


def power_cap_throughput_factor(platform: Platform, cap_frac) -> np.ndarray:
    """Throughput relative to uncapped [-] for GPU power cap ``cap_frac`` [-] (scalar or array)."""
    try:
        from dctwin.perf.power import power_cap_throughput_factor as perf_factor
    except ImportError:
        perf_factor = None
    cap = np.asarray(cap_frac, dtype=float)
    if perf_factor is not None:
        return np.broadcast_to(np.asarray(perf_factor(platform, cap), dtype=float), cap.shape).copy()
    return _stand_in(platform, cap)
