"""Turn piecewise-constant level changes into per-step time-weighted means (pure numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["step_mean"]


def step_mean(t_s: np.ndarray, delta: np.ndarray, step_s: float, n_steps: int) -> np.ndarray:
    """Mean level over each step of a quantity that starts at 0 and jumps by ``delta`` at ``t_s``.

    ``t_s`` [s] sorted ascending (equal times allowed); returns ``n_steps``
    time-weighted means over ``[k step_s, (k+1) step_s)``, same unit as ``delta``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    d = np.asarray(delta, dtype=np.float64)
    edges = np.arange(n_steps + 1, dtype=np.float64) * step_s
    if t.size == 0:
        return np.zeros(n_steps)
    level = np.cumsum(d)
    area = np.empty_like(t)
    area[0] = 0.0
    np.cumsum(level[:-1] * np.diff(t), out=area[1:])
    j = np.searchsorted(t, edges, side="right") - 1
    jj = np.maximum(j, 0)
    f = np.where(j >= 0, area[jj] + level[jj] * (edges - t[jj]), 0.0)
    return np.diff(f) / step_s
